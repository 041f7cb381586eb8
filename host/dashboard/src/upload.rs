//! A file posted from a page (`multipart/form-data`, the only way a form
//! sends a file): the parts, read from the whole body, with the same
//! origin and CSRF checks as every other post.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::web::{Signed, Ui, refused_origin};

/// One part of a multipart body.
pub(crate) struct Part {
    /// The field's name.
    pub(crate) name: String,
    /// The file's name, for a file field.
    pub(crate) filename: Option<String>,
    /// Its bytes.
    pub(crate) data: Vec<u8>,
}

/// A multipart form posted by a signed-in browser of this site.
pub(crate) struct Uploaded {
    pub(crate) signed: Signed,
    pub(crate) parts: Vec<Part>,
}

impl Uploaded {
    /// The text of field `name` (empty when absent).
    pub(crate) fn text(&self, name: &str) -> String {
        self.parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .map(|p| String::from_utf8_lossy(&p.data).trim().to_owned())
            .unwrap_or_default()
    }

    /// The file of field `name`, if one was chosen.
    pub(crate) fn file(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name && p.filename.as_deref().is_some_and(|f| !f.is_empty()))
    }
}

impl FromRequest<Arc<Ui>> for Uploaded {
    type Rejection = Response;

    async fn from_request(req: Request, ui: &Arc<Ui>) -> Result<Uploaded, Response> {
        let (mut parts, body) = req.into_parts();
        if let Some(refusal) = refused_origin(&parts.headers) {
            return Err(refusal);
        }
        let signed = Signed::from_request_parts(&mut parts, ui).await?;
        let bad = |why: &str| {
            (StatusCode::BAD_REQUEST, format!("this upload is not one the dashboard sent: {why}")).into_response()
        };
        let boundary = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.starts_with("multipart/form-data"))
            .and_then(|v| v.split(';').find_map(|p| p.trim().strip_prefix("boundary=")))
            .map(|b| b.trim_matches('"').to_owned())
            .ok_or_else(|| bad("not multipart/form-data"))?;
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), ui)
            .await
            .map_err(IntoResponse::into_response)?;
        let parts = parse(&bytes, &boundary).ok_or_else(|| bad("malformed multipart body"))?;
        let csrf = parts.iter().find(|p| p.name == "csrf").map(|p| p.data.as_slice());
        if csrf != Some(signed.session.csrf.as_bytes()) {
            return Err((StatusCode::FORBIDDEN, "refused: the form's CSRF token is missing or wrong; reload the page")
                .into_response());
        }
        Ok(Uploaded { signed, parts })
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// The parts of a multipart body with `boundary`.
fn parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut out = Vec::new();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(out); // the closing delimiter
        }
        at += 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", at)?;
        let head = String::from_utf8_lossy(&body[at..head_end]).into_owned();
        let next = find(body, &[b"\r\n".as_slice(), &delimiter].concat(), head_end + 4)?;
        let disposition = head.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        let attr = |key: &str| {
            disposition
                .split(';')
                .find_map(|p| p.trim().strip_prefix(&format!("{key}=")).map(|v| v.trim_matches('"').to_owned()))
        };
        out.push(Part { name: attr("name")?, filename: attr("filename"), data: body[head_end + 4..next].to_vec() });
        at = next + 2 + delimiter.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_a_binary_file_come_apart() {
        let body = b"--XY\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XY\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"p.wasm\"\r\nContent-Type: application/wasm\r\n\r\n\0asm\r\n\x01\r\n--XY--\r\n";
        let parts = parse(body, "XY").expect("parsed");
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), parts[0].data.as_slice()), ("csrf", b"abc".as_slice()));
        assert_eq!(parts[1].filename.as_deref(), Some("p.wasm"));
        assert_eq!(parts[1].data, b"\0asm\r\n\x01");
        assert!(parse(b"--XY\r\nno end", "XY").is_none());
    }
}
