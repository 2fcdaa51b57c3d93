//! The little DER and PEM that public keys need: reading a SubjectPublicKeyInfo (RFC 5280 §4.1)
//! far enough to learn the key type, and reading and writing an RSAPublicKey (RFC 8017 §A.1.1).
//!
//! Keys from PEM and from JWKs end up in the same canonical raw form (RSA `n`/`e`, an uncompressed
//! EC point, 32 Ed25519 bytes), so both crypto backends and all the key checks see one shape.

/// A DER reader over a byte slice. Only definite, minimal lengths are accepted.
struct Reader<'a> {
    input: &'a [u8],
}

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;

impl<'a> Reader<'a> {
    fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&t, rest) = self.input.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 3 || rest.len() < n || rest[0] == 0 {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | b as usize);
            if len < 0x80 {
                return None; // not minimal
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return None;
        }
        let (value, tail) = rest.split_at(len);
        self.input = tail;
        Some(value)
    }

    fn is_empty(&self) -> bool {
        self.input.is_empty()
    }
}

/// Reads a DER INTEGER that must be positive; returns its big-endian magnitude without leading zeros.
fn read_positive(r: &mut Reader<'_>) -> Option<Vec<u8>> {
    let v = r.read(TAG_INTEGER)?;
    match v {
        [] => None,
        [b, ..] if b & 0x80 != 0 => None,    // negative
        [0, b, ..] if b & 0x80 == 0 => None, // not minimal
        [0, rest @ ..] => Some(rest.to_vec()),
        _ => Some(v.to_vec()),
    }
}

/// The public key inside a SubjectPublicKeyInfo.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Spki {
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An EC point (as encoded in the key) on a named curve.
    Ec {
        curve: crate::alg::Curve,
        point: Vec<u8>,
    },
    /// A raw Ed25519 public key.
    Ed25519(Vec<u8>),
    /// A key type this crate does not verify with; the OID's DER bytes.
    Unsupported(Vec<u8>),
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// Parses a DER SubjectPublicKeyInfo. `None` means the DER itself is malformed.
pub(crate) fn parse_spki(der: &[u8]) -> Option<Spki> {
    let mut outer = Reader { input: der };
    let mut spki = Reader {
        input: outer.read(TAG_SEQUENCE)?,
    };
    if !outer.is_empty() {
        return None;
    }
    let mut alg_id = Reader {
        input: spki.read(TAG_SEQUENCE)?,
    };
    let oid = alg_id.read(TAG_OID)?;
    let bits = spki.read(TAG_BIT_STRING)?;
    if !spki.is_empty() {
        return None;
    }
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    let parsed = match oid {
        OID_RSA => {
            // parameters: NULL (required by RFC 3279, tolerated when absent as some encoders do)
            if !alg_id.is_empty() {
                alg_id.read(TAG_NULL)?;
            }
            let (n, e) = parse_rsa_public_key(key)?;
            Spki::Rsa { n, e }
        }
        OID_EC => {
            let curve = match alg_id.read(TAG_OID)? {
                OID_P256 => crate::alg::Curve::P256,
                OID_P384 => crate::alg::Curve::P384,
                OID_P521 => crate::alg::Curve::P521,
                other => return Some(Spki::Unsupported(other.to_vec())),
            };
            Spki::Ec {
                curve,
                point: key.to_vec(),
            }
        }
        OID_ED25519 => Spki::Ed25519(key.to_vec()),
        other => Spki::Unsupported(other.to_vec()),
    };
    if !alg_id.is_empty() {
        return None;
    }
    Some(parsed)
}

/// Parses an RSAPublicKey `SEQUENCE { n INTEGER, e INTEGER }`.
pub(crate) fn parse_rsa_public_key(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut outer = Reader { input: der };
    let mut seq = Reader {
        input: outer.read(TAG_SEQUENCE)?,
    };
    let n = read_positive(&mut seq)?;
    let e = read_positive(&mut seq)?;
    (seq.is_empty() && outer.is_empty()).then_some((n, e))
}

/// Encodes an RSAPublicKey from big-endian `n` and `e` (leading zeros already stripped).
pub(crate) fn encode_rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    write_positive(&mut body, n);
    write_positive(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 4);
    write_header(&mut out, TAG_SEQUENCE, body.len());
    out.extend_from_slice(&body);
    out
}

fn write_positive(out: &mut Vec<u8>, magnitude: &[u8]) {
    let pad = magnitude.first().is_some_and(|b| b & 0x80 != 0);
    write_header(out, TAG_INTEGER, magnitude.len() + pad as usize);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(magnitude);
}

fn write_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// One PEM block: its label and decoded DER.
pub(crate) struct PemBlock {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// Parses every PEM block in `text` (RFC 7468, strict base64 body, whitespace between lines allowed).
pub(crate) fn parse_pem(text: &str) -> Result<Vec<PemBlock>, String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let label = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
            .ok_or_else(|| "expected a '-----BEGIN …-----' line".to_string())?;
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        loop {
            match lines.next() {
                Some(l) if l == end => break,
                Some(l) => body.push_str(l),
                None => return Err(format!("missing '{end}'")),
            }
        }
        let der = base64_simd::STANDARD
            .decode_to_vec(body.as_bytes())
            .map_err(|_| format!("the {label} block is not valid base64"))?;
        blocks.push(PemBlock {
            label: label.to_string(),
            der,
        });
    }
    if blocks.is_empty() {
        return Err("no PEM block found".into());
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_public_key_round_trips() {
        let n = [0xc3u8; 256];
        let e = [0x01, 0x00, 0x01];
        let der = encode_rsa_public_key(&n, &e);
        assert_eq!(parse_rsa_public_key(&der), Some((n.to_vec(), e.to_vec())));
    }

    #[test]
    fn rejects_non_minimal_and_negative_integers() {
        // SEQUENCE { INTEGER 0x00 0x01, INTEGER 0x03 }
        assert!(
            parse_rsa_public_key(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x03]).is_none()
        );
        // SEQUENCE { INTEGER 0x81, INTEGER 0x03 }
        assert!(parse_rsa_public_key(&[0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x03]).is_none());
    }

    #[test]
    fn parses_an_ed25519_spki() {
        let mut der = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend_from_slice(&[7u8; 32]);
        assert_eq!(parse_spki(&der), Some(Spki::Ed25519(vec![7u8; 32])));
        der.push(0);
        assert_eq!(parse_spki(&der), None);
    }

    #[test]
    fn pem_needs_matching_end_line() {
        assert!(parse_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n").is_err());
        let blocks =
            parse_pem("-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----\n").unwrap();
        assert_eq!(blocks[0].der, vec![0, 1, 2]);
    }
}
