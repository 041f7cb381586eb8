//! Plugin stdout/stderr: captured per instance and forwarded to the log, never
//! to the host's own terminal.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// At most this much output is kept between two drains; the rest is dropped.
const CAP_BYTES: usize = 64 * 1024;

/// A bounded in-memory sink the host drains after each call.
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<(Vec<u8>, bool)>>);

impl Capture {
    fn push(&self, bytes: &[u8]) {
        let Ok(mut guard) = self.0.lock() else { return };
        let (buf, truncated) = &mut *guard;
        let room = CAP_BYTES.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        *truncated |= bytes.len() > room;
    }

    /// Take what was written since the last drain, as lossy UTF-8.
    pub(crate) fn drain(&self) -> String {
        let Ok(mut guard) = self.0.lock() else { return String::new() };
        let (buf, truncated) = &mut *guard;
        let mut s = String::from_utf8_lossy(buf).into_owned();
        if *truncated {
            s.push_str(" [output truncated]");
        }
        buf.clear();
        *truncated = false;
        s
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(CAP_BYTES)
    }
}

#[async_trait::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
