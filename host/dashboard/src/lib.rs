//! hubsync's web dashboard, served by `hubsync serve` at `/` on the API's
//! port and TLS: sign-in with an API token, an overview of every group,
//! group pages with live progress, logs, conflicts side by side,
//! quarantine, agents and tokens.
//!
//! Every page reads and every form acts through the public API, called in
//! process with the signed-in token ([`hubsync_client::Local`]): the page
//! holds no privilege the API does not, and a reader token changes
//! nothing whatever it posts. Pages are askama templates (escaped, checked
//! at compile time) that show their data without JavaScript; `app.js`, our
//! own, adds live updates from `/api/v1/events`. Nothing is loaded from
//! elsewhere, so the pages work without internet.
//!
//! Map: [`session`] (the signed cookie, CSRF); [`web`] (the router, the
//! security headers every answer carries, the signed-in extractor, forms);
//! [`pages`] (one module per page); [`view`] (states and times as shown);
//! [`chart`] (activity drawn as SVG by the server).

mod assets;
mod chart;
mod pages;
pub mod session;
mod upload;
mod view;
mod web;

pub use session::{Session, SessionKey};
pub use web::{Options, router};
