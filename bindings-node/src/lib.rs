//! Node bindings for jwtgate (placeholder until issue #6 lands).
