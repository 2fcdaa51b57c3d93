//! Python bindings for jwtgate (placeholder until issue #5 lands).
