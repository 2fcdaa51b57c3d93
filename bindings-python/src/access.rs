//! [`AccessTokens`]: a verified credential as a framework's pydantic `AccessToken` (FastMCP's,
//! the MCP SDK's), assembled in one call (`jwtgate/_access.py` says when it is used and why).
//!
//! The instance is put together as pydantic's `model_construct` finally does it: `__dict__` set
//! to the field values (every field, in the model's order, each already of its declared type),
//! the fields set, no extras, no private attributes, through the slots' own setters (the
//! model's `__setattr__` would validate). The values come straight from the core's
//! [`jwtgate::Verified`]; the claims `dict` is parsed once per verification.
//!
//! Recent conversions are kept, keyed by the core's `token_id` and checked against the token's
//! text, and used only for a result the core has just verified (`Claims` in hand): which
//! credentials pass, and until when, stays the core's decision. Every call gets an instance of
//! its own with its own `claims` dict and `scopes` list (frameworks add to them).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyList, PySet, PyString, PyTuple};

use jwtgate::CredentialKind;

use crate::claims::Claims;
use crate::errors::to_pyerr;
use crate::verifier::Verifier;

/// One field of the model, in the model's order.
enum Field {
    /// The bearer token's text.
    Token,
    /// The client (`""` for a JWT naming none: the field is a required `str`).
    ClientId,
    /// The granted scopes (a `list[str]`, copied for every instance).
    Scopes,
    /// `exp` in whole seconds.
    ExpiresAt,
    /// The configured audience the token's `aud` matched.
    Resource,
    /// `sub`.
    Subject,
    /// The claims set (a `dict`, copied for every instance).
    Claims,
    /// A field jwtgate does not fill, at its (immutable) default.
    Default(Py<PyAny>),
}

/// Assembles `model` instances from verified credentials (see the module).
#[pyclass(frozen, module = "jwtgate._native", name = "_AccessTokens")]
pub struct AccessTokens {
    model: Py<PyAny>,
    /// `object.__new__`.
    new: Py<PyAny>,
    /// The `__set__` of `__dict__`, `__pydantic_fields_set__`, `__pydantic_extra__`,
    /// `__pydantic_private__` (pydantic 2's `BaseModel` slots).
    set_dict: Py<PyAny>,
    set_fields: Py<PyAny>,
    set_extra: Py<PyAny>,
    set_private: Py<PyAny>,
    fields: Vec<(Py<PyString>, Field)>,
    /// The names of the fields jwtgate fills (each instance's fields set is a copy).
    given: Py<PyFrozenSet>,
    /// The fields whose values each instance gets a copy of (the claims `dict`, the scopes
    /// `list`: frameworks and tools add to them).
    mutable: Vec<Py<PyString>>,
    /// Most conversions kept (0: none).
    limit: usize,
    /// `token_id` → `(token, the values of an instance)`, never handed out.
    recent: Py<PyDict>,
}

impl AccessTokens {
    /// A new instance whose `__dict__` is `values`.
    fn instance<'py>(
        &self,
        py: Python<'py>,
        values: Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let instance = self.new.bind(py).call1((self.model.bind(py),))?;
        self.set_dict.bind(py).call1((&instance, values))?;
        // `set(frozenset)` copies the hash table as it is (no re-hashing, one allocation).
        let given = py.get_type::<PySet>().call1((self.given.bind(py),))?;
        self.set_fields.bind(py).call1((&instance, given))?;
        self.set_extra.bind(py).call1((&instance, py.None()))?;
        self.set_private.bind(py).call1((&instance, py.None()))?;
        Ok(instance)
    }

    /// The field values of `claims` (the core's result for `token`).
    fn values<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyString>,
        claims: &Claims,
    ) -> PyResult<Bound<'py, PyDict>> {
        let verified = claims.verified();
        let values = PyDict::new(py);
        for (name, field) in &self.fields {
            let name = name.bind(py);
            match field {
                Field::Token => values.set_item(name, token)?,
                Field::ClientId => values.set_item(name, verified.client_id().unwrap_or(""))?,
                Field::Scopes => {
                    values.set_item(name, PyList::new(py, verified.granted_scopes())?)?
                }
                Field::ExpiresAt => values.set_item(name, verified.exp())?,
                Field::Resource => values.set_item(name, verified.audience_matched())?,
                Field::Subject => values.set_item(name, verified.sub())?,
                Field::Claims => values.set_item(name, claims.fresh_dict(py)?)?,
                Field::Default(value) => values.set_item(name, value.bind(py))?,
            }
        }
        Ok(values)
    }

    /// A copy of `values` whose mutable values (the claims `dict`, the scopes `list`) are
    /// copies too.
    fn copy<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let copy = values.copy()?;
        for name in &self.mutable {
            let name = name.bind(py);
            if let Some(value) = copy.get_item(name)? {
                if let Ok(list) = value.cast::<PyList>() {
                    copy.set_item(name, list.get_slice(0, list.len()))?;
                } else if let Ok(dict) = value.cast::<PyDict>() {
                    copy.set_item(name, dict.copy()?)?;
                }
            }
        }
        Ok(copy)
    }

    /// [`of`](AccessTokens::of) of a core result.
    fn of_claims<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyString>,
        claims: &Claims,
    ) -> PyResult<Bound<'py, PyAny>> {
        let verified = claims.verified();
        let recent = self.recent.bind(py);
        let id = verified.token_id();
        if let Some(found) = recent.get_item(id)? {
            let found = found.cast_into::<PyTuple>()?;
            if found.get_item(0)?.eq(token)? {
                let kept = found.get_item(1)?.cast_into::<PyDict>()?;
                let values = self.copy(py, &kept)?;
                return self.instance(py, values);
            }
        }
        let values = self.values(py, token, claims)?;
        // Introspected credentials are converted anew each time: the provider's answer for the
        // same text may change.
        if self.limit > 0 && verified.kind() != CredentialKind::Introspected {
            if recent.len() >= self.limit {
                recent.clear();
            }
            recent.set_item(id, (token, self.copy(py, &values)?))?;
        }
        self.instance(py, values)
    }
}

#[pymethods]
impl AccessTokens {
    /// `_AccessTokens(model, fields, defaults, setters, limit)`: `fields` are the model's field
    /// names in order; a name jwtgate does not fill takes its value from `defaults`; `setters`
    /// the four slot setters (see the struct).
    #[new]
    fn new(
        py: Python<'_>,
        model: Bound<'_, PyAny>,
        fields: Vec<Bound<'_, PyString>>,
        defaults: &Bound<'_, PyDict>,
        setters: (Py<PyAny>, Py<PyAny>, Py<PyAny>, Py<PyAny>),
        limit: usize,
    ) -> PyResult<AccessTokens> {
        let mut order = Vec::with_capacity(fields.len());
        let mut given = Vec::new();
        let mut mutable = Vec::new();
        for name in fields {
            let field = match name.to_cow()?.as_ref() {
                "token" => Field::Token,
                "client_id" => Field::ClientId,
                "scopes" => Field::Scopes,
                "expires_at" => Field::ExpiresAt,
                "resource" => Field::Resource,
                "subject" => Field::Subject,
                "claims" => Field::Claims,
                other => match defaults.get_item(&name)? {
                    Some(value) => Field::Default(value.unbind()),
                    None => {
                        return Err(PyTypeError::new_err(format!(
                            "no value for the field {other:?}"
                        )));
                    }
                },
            };
            if !matches!(field, Field::Default(_)) {
                given.push(name.clone());
            }
            if matches!(field, Field::Scopes | Field::Claims) {
                mutable.push(name.clone().unbind());
            }
            order.push((name.unbind(), field));
        }
        let object = py.import("builtins")?.getattr("object")?;
        let (set_dict, set_fields, set_extra, set_private) = setters;
        Ok(AccessTokens {
            model: model.unbind(),
            new: object.getattr("__new__")?.unbind(),
            set_dict,
            set_fields,
            set_extra,
            set_private,
            fields: order,
            given: PyFrozenSet::new(py, &given)?.unbind(),
            mutable,
            limit,
            recent: PyDict::new(py).unbind(),
        })
    }

    /// `claims` (the core's result for `token`, just now) as a model instance, built anew.
    fn convert<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyString>,
        claims: &Bound<'py, Claims>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let values = self.values(py, token, claims.get())?;
        self.instance(py, values)
    }

    /// `convert`, from the values kept for the same credential when there are some.
    fn of<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyString>,
        claims: &Bound<'py, Claims>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.of_claims(py, token, claims.get())
    }

    /// The access token of `token` when the core answers it now without cryptography or
    /// waiting (a verified-token cache hit, a static token: `Verifier::verify_cached`, the thread
    /// attached); the core's refusal as `verify` raises it; `None` when the answer takes more
    /// work (the caller's full path, `verify_nonblocking`), or for a token that is not a `str`
    /// the core can read (the full path names the mistake).
    fn cached<'py>(
        &self,
        py: Python<'py>,
        verifier: &Bound<'py, Verifier>,
        token: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Ok(text) = token.cast::<PyString>() else {
            return Ok(None);
        };
        let Ok(credential) = text.to_cow() else {
            return Ok(None);
        };
        match verifier.get().cached_now(&credential) {
            Some(Ok(verified)) => self.of_claims(py, text, &Claims::new(verified)).map(Some),
            // Answered and counted by the core: raised here, not asked again.
            Some(Err(e)) => Err(to_pyerr(py, &e)),
            None => Ok(None),
        }
    }

    /// Forgets the kept conversions.
    fn clear(&self, py: Python<'_>) {
        self.recent.bind(py).clear();
    }
}
