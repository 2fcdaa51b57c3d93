//! [`Verified`] → the JavaScript claims object.
//!
//! The object itself is assembled by a factory registered from `index.js` (it freezes the
//! object, its arrays and the parsed payload), from the core's accessors: nothing here reads
//! the claims JSON or decides anything about it.
//!
//! Building that object costs more than a cached verification in the core, so a verifier keeps
//! the objects it built in a small direct-mapped [`ClaimsTable`], keyed by the *identity* of the
//! core's `Verified` (the core's cache hands out clones of one `Arc`, so a cache hit returns the
//! very same `Verified`). The table holds a clone of each `Verified` it remembers, so an identity
//! cannot be reused by another result while it is in the table; a hit therefore returns exactly
//! what the core returned, only without building it again. Which results the core returns — and
//! when a cached one is no longer valid — stays entirely the core's decision.

use std::cell::RefCell;
use std::mem::ManuallyDrop;

use jwtgate::{CredentialKind, Verified};
use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, Unknown};
use napi::{Env, JsValue, sys};

/// Arguments of the registered factory, in order: kind, alg, kid, typ, iss, sub, aud, exp, nbf,
/// iat, jti, clientId, scopes, claims JSON (absent values are `null`).
pub(crate) type FactoryArgs = FnArgs<(
    &'static str,
    Option<&'static str>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<String>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<String>,
    Option<String>,
    Vec<String>,
    String,
)>;

/// The registered factory and its environment (see `errors::Registered` for why it is a
/// thread-local of `ManuallyDrop`).
struct Registered {
    env: sys::napi_env,
    factory: ManuallyDrop<FunctionRef<FactoryArgs, Unknown<'static>>>,
}

thread_local! {
    static FACTORY: RefCell<Option<Registered>> = const { RefCell::new(None) };
}

/// Remembers `factory` as this environment's claims-object factory.
pub(crate) fn register(
    env: &Env,
    factory: &Function<FactoryArgs, Unknown<'static>>,
) -> napi::Result<()> {
    let registered = Registered {
        env: env.raw(),
        factory: ManuallyDrop::new(factory.create_ref()?),
    };
    FACTORY.with(|slot| {
        if let Some(mut old) = slot.borrow_mut().replace(registered) {
            // SAFETY: `old.factory` is never used again; we are on its live environment.
            unsafe { ManuallyDrop::drop(&mut old.factory) };
        }
    });
    Ok(())
}

/// Builds the claims object of `verified` with the registered factory.
pub(crate) fn to_js<'env>(env: &'env Env, verified: &Verified) -> napi::Result<Unknown<'env>> {
    let owned = |s: Option<&str>| s.map(str::to_owned);
    let seconds = |n: Option<u64>| n.map(|n| n as f64);
    let args = FnArgs::from((
        verified.kind().as_str(),
        verified.alg().map(|a| a.as_str()),
        owned(verified.kid()),
        owned(verified.typ()),
        owned(verified.iss()),
        owned(verified.sub()),
        verified.aud().to_vec(),
        seconds(verified.exp()),
        seconds(verified.nbf()),
        seconds(verified.iat()),
        owned(verified.jti()),
        owned(verified.client_id()),
        verified.scopes().to_vec(),
        verified.claims_json().to_owned(),
    ));
    FACTORY.with(|slot| {
        let slot = slot.borrow();
        let Some(registered) = slot.as_ref().filter(|r| r.env == env.raw()) else {
            return Err(napi::Error::from_reason(
                "jwtgate: the native addon was loaded without index.js (no claims factory registered)",
            ));
        };
        let value = registered.factory.borrow_back(env)?.call(args)?;
        // The factory's result lives in the caller's handle scope, like any other argument or
        // return value of this native call.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value.raw()) })
    })
}

/// Remembered `Verified` identities of one verifier; slot `i` pairs with element `i` of the
/// JavaScript array that holds the built objects (owned by the JS `Verifier`).
pub(crate) struct ClaimsTable {
    slots: Box<[Option<Verified>]>,
    mask: usize,
}

/// Largest table: 8192 slots (the objects cost a few hundred bytes each).
const MAX_SLOTS: usize = 8192;

impl ClaimsTable {
    /// A table for a verifier whose core cache holds `cache_size` tokens (`None` when the core
    /// cache is off: every verification then returns a new `Verified`).
    pub(crate) fn new(cache_size: usize) -> Option<ClaimsTable> {
        if cache_size == 0 {
            return None;
        }
        let slots = cache_size.clamp(1, MAX_SLOTS).next_power_of_two();
        Some(ClaimsTable {
            slots: vec![None; slots].into_boxed_slice(),
            mask: slots - 1,
        })
    }

    /// The identity of a `Verified`: the address of its claims text, which it owns for its
    /// whole life (never empty for a JWT).
    fn identity(verified: &Verified) -> Option<usize> {
        let json = verified.claims_json();
        (verified.kind() == CredentialKind::Jwt && !json.is_empty())
            .then_some(json.as_ptr() as usize)
    }

    fn slot_of(&self, identity: usize) -> usize {
        // Fibonacci hashing of the address (allocations are aligned, so the low bits are poor).
        (identity.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) >> 17) & self.mask
    }

    /// The slot remembering this very `Verified`, if any.
    pub(crate) fn find(&self, verified: &Verified) -> Option<u32> {
        let identity = Self::identity(verified)?;
        let slot = self.slot_of(identity);
        match &self.slots[slot] {
            Some(held) if Self::identity(held) == Some(identity) => Some(slot as u32),
            _ => None,
        }
    }

    /// Remembers `verified` (replacing whatever shared its slot); `None` for results that are
    /// never returned twice (static tokens).
    pub(crate) fn remember(&mut self, verified: &Verified) -> Option<u32> {
        let identity = Self::identity(verified)?;
        let slot = self.slot_of(identity);
        self.slots[slot] = Some(verified.clone());
        Some(slot as u32)
    }
}
