//! [`Verified`] → the JavaScript claims object.
//!
//! The object itself is assembled by a factory registered from `index.js` (it freezes the
//! object, its arrays and the parsed payload), from the core's accessors: nothing here reads
//! the claims JSON or decides anything about it.
//!
//! Building that object costs more than a cached verification in the core, so a verifier keeps
//! the objects it built in a small direct-mapped [`ClaimsTable`], keyed by the core's
//! [`Verified::token_id`] (equal for two results of the same credential text, a keyed hash that
//! differs for different texts). The table is consulted only *after* the core accepted the
//! credential again: which credentials pass, and when a cached one no longer does, stays
//! entirely the core's decision; the table only saves converting the same result twice.

use std::cell::RefCell;
use std::mem::ManuallyDrop;

use jwtgate::Verified;
use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, Unknown};
use napi::{Env, JsValue, sys};

/// Arguments of the registered factory, in order: kind, alg, kid, typ, iss, sub, aud, exp, nbf,
/// iat, jti, clientId, scopes, claims JSON, audienceMatched, principal issuer, principal subject,
/// tokenId, granted scopes, grants every scope, confirmation jkt (absent values are `null`).
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
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Vec<String>,
    bool,
    Option<String>,
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
            // SAFETY: `old.factory` is never used again, and we are on its live environment
            // (the one `setup` is being called on again), so releasing the reference is valid.
            unsafe { ManuallyDrop::drop(&mut old.factory) };
        }
    });
    Ok(())
}

/// Builds the claims object of `verified` with the registered factory.
pub(crate) fn to_js<'env>(env: &'env Env, verified: &Verified) -> napi::Result<Unknown<'env>> {
    let owned = |s: Option<&str>| s.map(str::to_owned);
    let seconds = |n: Option<u64>| n.map(|n| n as f64);
    let (principal_iss, principal_sub) = verified.principal();
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
        owned(verified.audience_matched()),
        owned(principal_iss),
        owned(principal_sub),
        // A u64 does not fit a JS number; its decimal text keeps the object JSON-serialisable.
        verified.token_id().to_string(),
        verified
            .granted_scopes()
            .map(str::to_owned)
            .collect::<Vec<_>>(),
        grants_every_scope(verified),
        owned(verified.confirmation_jkt()),
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
        // return value of this native call; only the lifetime parameter changes here.
        // SAFETY: `value` is a live handle of `env`, used within this native call.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value.raw()) })
    })
}

/// Whether the credential grants every scope (a scope it carries implies `*` in the verifier's
/// scope hierarchy). `Verified::has_scope` answers true for any scope then, and otherwise only
/// for the scopes `granted_scopes` lists: asked about a scope that list lacks, it answers this
/// very question.
fn grants_every_scope(verified: &Verified) -> bool {
    let mut probe = String::from("\u{0}");
    while verified.granted_scopes().any(|s| s == probe) {
        probe.push('\u{0}');
    }
    verified.has_scope(&probe)
}

/// Which credentials a verifier has a claims object for: slot `i` pairs with element `i` of the
/// JavaScript array that holds the built objects (owned by the JS `Verifier`).
pub(crate) struct ClaimsTable {
    slots: Box<[Option<u64>]>,
    mask: usize,
}

/// Largest table: 8192 slots (the objects cost a few hundred bytes each).
const MAX_SLOTS: usize = 8192;

impl ClaimsTable {
    /// A table sized like the core's cache of `capacity` entries (`None` when the cache is
    /// off: the application then asked for no caching, and every result is converted anew).
    pub(crate) fn new(capacity: usize) -> Option<ClaimsTable> {
        if capacity == 0 {
            return None;
        }
        let slots = capacity.clamp(1, MAX_SLOTS).next_power_of_two();
        Some(ClaimsTable {
            slots: vec![None; slots].into_boxed_slice(),
            mask: slots - 1,
        })
    }

    /// The slot of a credential id (the id is already a keyed hash: its low bits will do).
    pub(crate) fn slot_of(&self, token_id: u64) -> u32 {
        (token_id as usize & self.mask) as u32
    }

    /// The slot holding this credential's object, if any.
    pub(crate) fn find(&self, token_id: u64) -> Option<u32> {
        let slot = self.slot_of(token_id);
        (self.slots[slot as usize] == Some(token_id)).then_some(slot)
    }

    /// Marks `slot` empty (before its element of the JS array is replaced).
    pub(crate) fn forget(&mut self, slot: u32) {
        self.slots[slot as usize] = None;
    }

    /// Records that `slot`'s element of the JS array is now the object of `token_id`.
    pub(crate) fn remember(&mut self, slot: u32, token_id: u64) {
        self.slots[slot as usize] = Some(token_id);
    }
}
