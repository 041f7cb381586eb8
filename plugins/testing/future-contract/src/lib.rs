//! A component built against a later `hubsync:plugin` contract version
//! (0.2.0), to test that hubsync refuses it with a clear error.

// wit-bindgen's generated exports are `unsafe extern "C"` functions.
#![allow(missing_docs, unsafe_code)]

wit_bindgen::generate!({
    inline: r#"
        package hubsync:plugin@0.2.0;
        interface conflict-resolver {
            resolve: func(keys: list<s64>) -> list<bool>;
        }
        world conflict-policy {
            export describe: func() -> string;
            export conflict-resolver;
        }
    "#,
});

#[allow(dead_code)]
struct Future;

impl Guest for Future {
    fn describe() -> String {
        "future".into()
    }
}

impl exports::hubsync::plugin::conflict_resolver::Guest for Future {
    fn resolve(keys: Vec<i64>) -> Vec<bool> {
        keys.iter().map(|_| true).collect()
    }
}

#[cfg(target_family = "wasm")]
export!(Future);
