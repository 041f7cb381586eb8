//! Builds the built-in plugins (and the sandbox-test plugins) from source for
//! `wasm32-wasip2`, so the host embeds components made from this checkout.
//!
//! Each group is one nested cargo invocation; groups are split so that cargo's
//! feature unification never enables two PDK role features in one build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// (package, file stem of the built component, name the host knows it by)
const GROUPS: &[&[(&str, &str, &str)]] = &[
    &[
        ("hubsync-plugin-hub-wins", "hubsync_plugin_hub_wins", "hub-wins"),
        ("hubsync-plugin-member-wins", "hubsync_plugin_member_wins", "member-wins"),
        ("hubsync-plugin-last-writer-wins", "hubsync_plugin_last_writer_wins", "last-writer-wins"),
        ("hubsync-plugin-column-merge", "hubsync_plugin_column_merge", "column-merge"),
        ("keep-larger-amount", "keep_larger_amount", "keep-larger-amount"),
        ("hubsync-plugin-misbehave", "hubsync_plugin_misbehave", "misbehave"),
        ("hubsync-plugin-future-contract", "hubsync_plugin_future_contract", "future-contract"),
    ],
    &[("hubsync-plugin-column-filter", "hubsync_plugin_column_filter", "column-filter")],
    &[("hubsync-plugin-schema-map", "hubsync_plugin_schema_map", "schema-map")],
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in ["plugins", "wit", "host/core/src", "host/core/Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    // Share one guest target dir between profiles (dev, test, clippy, bench):
    // OUT_DIR is <target>/<profile>/build/<pkg>/out.
    let target_dir = out.ancestors().nth(4).map_or_else(|| out.join("guests"), |t| t.join("wasm-guests"));
    println!("cargo:rustc-env=HUBSYNC_TEST_PLUGINS_DIR={}", out.display());
    ensure_wasm_target();
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for group in GROUPS {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root)
            .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
            .arg(&target_dir)
            .args(["--config", "profile.release.lto=true", "--config", "profile.release.codegen-units=1"])
            .args(["--config", "profile.release.strip=\"debuginfo\""]);
        for (pkg, _, _) in *group {
            cmd.args(["-p", pkg]);
        }
        // The outer build's flags and target are for the host, not the guests.
        for var in [
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTFLAGS",
            "CARGO_BUILD_TARGET",
            "CARGO_TARGET_DIR",
            "RUSTC_WORKSPACE_WRAPPER",
        ] {
            cmd.env_remove(var);
        }
        let status = cmd.status().unwrap_or_else(|e| panic!("could not run {cargo}: {e}"));
        assert!(
            status.success(),
            "building the built-in plugins for wasm32-wasip2 failed (is the target installed? \
             rust-toolchain.toml asks rustup for it)"
        );
        for (_, stem, name) in *group {
            let built = target_dir.join("wasm32-wasip2/release").join(format!("{stem}.wasm"));
            copy(&built, &out.join(format!("{name}.wasm")));
        }
    }
}

/// Add the `wasm32-wasip2` target with rustup when the toolchain lacks it:
/// rustup installs a toolchain named in `rust-toolchain.toml` on first use,
/// but not the targets it lists when the toolchain was already there.
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output();
    let Ok(out) = sysroot else { return };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if Path::new(&sysroot).join("lib/rustlib/wasm32-wasip2").exists() {
        return;
    }
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", "wasm32-wasip2"]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        cmd.args(["--toolchain", &toolchain]);
    }
    println!("cargo:warning=adding the wasm32-wasip2 target with rustup (needed to build the built-in plugins)");
    // A failure shows up as the guest build's own error below.
    let _ = cmd.status();
}

fn copy(from: &Path, to: &Path) {
    let bytes = fs::read(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    // Only rewrite on change, so dependents are not rebuilt for nothing.
    if fs::read(to).ok().as_deref() != Some(&bytes[..]) {
        fs::write(to, bytes).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    }
}
