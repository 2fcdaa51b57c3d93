//! [`SigningKey`]: the core's `sign::SigningKey`, for tests, benchmarks and local development
//! (`jwtgate.testing.SigningKey`). jwtgate is a verifier; this mints tokens with the same crypto
//! backend so that Python tests need no second JOSE library.

use std::str::FromStr;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use jwtgate::Algorithm;

use crate::convert::plain_text;
use crate::errors::{config_error, to_pyerr};

/// A private signing key with its algorithm and key id (for tests and local development).
#[pyclass(frozen, module = "jwtgate.testing", name = "SigningKey")]
pub struct SigningKey {
    key: jwtgate::sign::SigningKey,
}

fn algorithm(value: &Bound<'_, PyAny>) -> PyResult<Algorithm> {
    let name = plain_text(value, "alg")?;
    Algorithm::from_str(&name)
        .map_err(|_| config_error(value.py(), format!("unknown algorithm {name:?}")))
}

/// `json.dumps(value)`.
fn dumps(value: &Bound<'_, PyAny>) -> PyResult<String> {
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    DUMPS
        .import(value.py(), "json", "dumps")?
        .call1((value,))?
        .extract()
}

#[pymethods]
impl SigningKey {
    /// Generates a key for `alg` (RSA: 2048 bits; HS*: a random secret of the hash length).
    #[staticmethod]
    fn generate(
        py: Python<'_>,
        alg: &Bound<'_, PyAny>,
        kid: &Bound<'_, PyAny>,
    ) -> PyResult<SigningKey> {
        let alg = algorithm(alg)?;
        let kid = plain_text(kid, "kid")?;
        let key = py
            .detach(move || jwtgate::sign::SigningKey::generate(alg, kid))
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(SigningKey { key })
    }

    /// Loads a PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`) for `alg`.
    #[staticmethod]
    fn from_pkcs8_pem(
        py: Python<'_>,
        alg: &Bound<'_, PyAny>,
        kid: &Bound<'_, PyAny>,
        pem: &Bound<'_, PyAny>,
    ) -> PyResult<SigningKey> {
        let (alg, kid) = (algorithm(alg)?, plain_text(kid, "kid")?);
        let key = jwtgate::sign::SigningKey::from_pkcs8_pem(alg, kid, &plain_text(pem, "pem")?)
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(SigningKey { key })
    }

    /// An HMAC key (HS256/384/512) with the given secret.
    #[staticmethod]
    fn hmac(
        py: Python<'_>,
        alg: &Bound<'_, PyAny>,
        kid: &Bound<'_, PyAny>,
        secret: &[u8],
    ) -> PyResult<SigningKey> {
        let (alg, kid) = (algorithm(alg)?, plain_text(kid, "kid")?);
        let key =
            jwtgate::sign::SigningKey::hmac(alg, kid, secret).map_err(|e| to_pyerr(py, &e))?;
        Ok(SigningKey { key })
    }

    /// The algorithm this key signs with.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.key.algorithm().as_str()
    }

    /// The key id put in headers and in the public JWK.
    #[getter]
    fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The public JWK as a dict (with `kid`, `alg`, `use: sig`), or None for HMAC keys.
    fn public_jwk<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        match self.key.public_jwk() {
            Some(jwk) => Ok(Some(
                LOADS
                    .import(py, "json", "loads")?
                    .call1((jwk.to_string(),))?,
            )),
            None => Ok(None),
        }
    }

    /// A JWKS document (JSON text) holding this key's public JWK.
    fn public_jwks(&self) -> String {
        self.key.public_jwks()
    }

    /// The private key as PKCS#8 PEM (None for HMAC keys).
    fn pkcs8_pem(&self) -> Option<String> {
        self.key.pkcs8_pem()
    }

    /// The HMAC secret (HS* keys only).
    fn secret(&self) -> Option<Vec<u8>> {
        self.key.secret()
    }

    /// Signs `claims` (a JSON-serialisable mapping) as a JWT. The header is
    /// `{"typ": "JWT", "alg", "kid"}` plus `header`'s members (which win, `alg`/`kid` included).
    #[pyo3(signature = (claims, header=None))]
    fn mint(
        &self,
        py: Python<'_>,
        claims: &Bound<'_, PyAny>,
        header: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<String> {
        let claims: serde_json::Value = serde_json::from_str(&dumps(claims)?)
            .map_err(|e| config_error(py, format!("claims are not JSON: {e}")))?;
        let mut head = serde_json::json!({"typ": "JWT"});
        if let Some(header) = header {
            let extra: serde_json::Value = serde_json::from_str(&dumps(header.as_any())?)
                .map_err(|e| config_error(py, format!("header is not JSON: {e}")))?;
            if let (Some(head), Some(extra)) = (head.as_object_mut(), extra.as_object()) {
                head.extend(extra.clone());
            }
        }
        self.key
            .mint_with_header(&head, &claims)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Signs exact header and payload bytes (no checks): for tests that need unusual tokens.
    fn sign_raw(&self, py: Python<'_>, header: &[u8], payload: &[u8]) -> PyResult<String> {
        self.key
            .sign_raw(header, payload)
            .map_err(|e| to_pyerr(py, &e))
    }

    fn __repr__(&self) -> String {
        format!(
            "SigningKey(algorithm={:?}, kid={:?})",
            self.key.algorithm().as_str(),
            self.key.kid()
        )
    }
}
