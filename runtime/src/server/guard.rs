//! A served connection's byte stream, watched frame by frame (`transport/frames.rs`) for what
//! hyper does not police: the handshake deadline (a client that never sends its preface or
//! first frame is dropped) and gRPC's keepalive enforcement (gRFC A8: a client that PINGs too
//! often is told GOAWAY `ENHANCE_YOUR_CALM` "too_many_pings" and the connection closes, as
//! grpc-go does).
//!
//! The GOAWAY is written by this wrapper between two of h2's frames: the bytes h2 writes are
//! let through up to the end of the frame in progress, the GOAWAY follows, and from then on the
//! connection reads as ended and what h2 still writes is dropped. Nothing h2 wrote after its
//! last whole frame reaches the client, so the client sees well-formed HTTP/2 ending with our
//! GOAWAY.
//!
//! On a server that limits connections' age or idleness (`lifetime.rs`), it also tells when the
//! client's streams come and go, and writes a connection's first, graceful GOAWAY (last stream
//! 2^31-1, the same way between h2's frames) a second before h2's own graceful shutdown; the
//! connection goes on after that one.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::server::lifetime::Activity;
use crate::server::limits::{IDLE_PING_INTERVAL, KeepalivePolicy, MAX_PING_STRIKES};
use crate::transport::frames::{self, ACK, DATA, END_STREAM, FrameCursor, FrameHeader, HEADERS, PING, RST_STREAM};
use crate::transport::io::IoStream;

/// HTTP/2's ENHANCE_YOUR_CALM error code (RFC 9113, 7).
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// HTTP/2's NO_ERROR code.
const NO_ERROR: u32 = 0;

/// The highest stream identifier, a graceful GOAWAY's last stream (RFC 9113, 6.8).
const MAX_STREAM: u32 = (1 << 31) - 1;

/// The debug data gRPC clients look for to back off their keepalive (gRFC A8).
pub(crate) const TOO_MANY_PINGS: &[u8] = b"too_many_pings";

/// A connection's byte stream under the server's handshake deadline and keepalive policy.
pub(crate) struct Guarded {
    io: Box<dyn IoStream>,
    inbound: FrameCursor,
    outbound: FrameCursor,
    /// Until the client's first frame arrives: when the connection is dropped without it.
    handshake: Option<Pin<Box<tokio::time::Sleep>>>,
    pings: PingStrikes,
    /// The streams the client opened that the server has not ended (nor either side reset).
    open: Vec<u32>,
    /// The highest stream the client opened.
    last_stream: u32,
    goaway: Goaway,
    /// On a server that limits connections' age or idleness (`lifetime.rs`): told when `open`
    /// turns empty or not, and asks for the first GOAWAY of a connection due to go. `None` on
    /// others.
    activity: Option<Arc<Activity>>,
}

/// gRPC's ping strikes (grpc-go's `handlePing`).
struct PingStrikes {
    policy: KeepalivePolicy,
    last: Option<Instant>,
    strikes: u32,
    /// Set when the server sends HEADERS or DATA: the next PING starts the count afresh.
    reset: bool,
}

enum Goaway {
    /// Nothing to send.
    No,
    /// To be written at the next frame boundary; how much of it is written; whether the
    /// connection is over once it is (`too_many_pings`), or goes on (the first GOAWAY of a
    /// connection due to go for its age or idleness, `lifetime.rs`).
    Pending(Vec<u8>, usize, bool),
    /// Written: the connection is over.
    Sent,
}

impl Guarded {
    /// Watches `io` of a connection that must send its first frame by `handshake_deadline`,
    /// telling `activity` (if any) when its streams come and go.
    pub(crate) fn new(
        io: Box<dyn IoStream>,
        handshake_deadline: tokio::time::Instant,
        policy: KeepalivePolicy,
        activity: Option<Arc<Activity>>,
    ) -> Self {
        Guarded {
            io,
            inbound: FrameCursor::after_preface(),
            outbound: FrameCursor::frames(),
            handshake: Some(Box::pin(tokio::time::sleep_until(handshake_deadline))),
            pings: PingStrikes { policy, last: None, strikes: 0, reset: false },
            open: Vec::new(),
            last_stream: 0,
            goaway: Goaway::No,
            activity,
        }
    }

    #[inline]
    fn on_inbound(&mut self, header: FrameHeader) {
        if self.handshake.is_some() {
            self.handshake = None;
        }
        match header.kind {
            HEADERS if header.stream > self.last_stream => {
                self.last_stream = header.stream;
                self.open.push(header.stream);
                if let Some(activity) = &self.activity
                    && self.open.len() == 1
                {
                    activity.busy();
                }
            }
            RST_STREAM => self.close(header.stream),
            PING if header.flags & ACK == 0 => self.on_ping(),
            _ => {}
        }
    }

    /// A PING from the client: a strike, perhaps one too many.
    #[cold]
    fn on_ping(&mut self) {
        if self.pings.too_many(!self.open.is_empty()) && matches!(self.goaway, Goaway::No) {
            let frame = frames::goaway(self.last_stream, ENHANCE_YOUR_CALM, TOO_MANY_PINGS);
            self.goaway = Goaway::Pending(frame, 0, true);
        }
    }

    #[inline]
    fn on_outbound(&mut self, header: FrameHeader) {
        match header.kind {
            HEADERS | DATA => {
                self.pings.reset = true;
                if header.flags & END_STREAM != 0 {
                    self.close(header.stream);
                }
            }
            RST_STREAM => self.close(header.stream),
            _ => {}
        }
    }

    fn close(&mut self, stream: u32) {
        if let Some(at) = self.open.iter().position(|&s| s == stream) {
            self.open.swap_remove(at);
            if let Some(activity) = &self.activity
                && self.open.is_empty()
            {
                activity.idle();
            }
        }
    }

    /// Writes the pending GOAWAY if the bytes written so far end at a frame boundary: ready
    /// once it is written and flushed (or nothing is pending).
    fn poll_goaway(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Goaway::Pending(frame, written, last) = &mut self.goaway else { return Poll::Ready(Ok(())) };
        if !self.outbound.at_boundary() {
            // h2 finishes its frame first (see `poll_write`).
            return Poll::Ready(Ok(()));
        }
        while *written < frame.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &frame[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        self.goaway = if *last { Goaway::Sent } else { Goaway::No };
        Poll::Ready(Ok(()))
    }

    /// How many of h2's bytes may go out now: all, or (with a GOAWAY waiting) only up to the
    /// end of the frame in progress.
    fn writable(&self, len: usize) -> usize {
        match self.goaway {
            Goaway::Pending(..) => len.min(self.outbound.to_boundary()),
            _ => len,
        }
    }
}

impl PingStrikes {
    /// Counts a PING from the client (`calls`: whether any stream is open); true once the
    /// client has more strikes than allowed.
    fn too_many(&mut self, calls: bool) -> bool {
        let now = Instant::now();
        let last = self.last.replace(now);
        if std::mem::take(&mut self.reset) {
            self.strikes = 0;
            return false;
        }
        let min = if calls || self.policy.permit_without_calls { self.policy.min_time } else { IDLE_PING_INTERVAL };
        if last.is_some_and(|last| now.duration_since(last) < min) {
            self.strikes += 1;
        }
        self.strikes > MAX_PING_STRIKES
    }
}

impl AsyncRead for Guarded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(activity) = &this.activity
            && activity.take_heads_up(cx.waker())
            && matches!(this.goaway, Goaway::No)
        {
            // Streams from here on are unwelcome; h2's graceful shutdown follows (`lifetime.rs`).
            this.goaway = Goaway::Pending(frames::goaway(MAX_STREAM, NO_ERROR, b""), 0, false);
        }
        if !matches!(this.goaway, Goaway::No) {
            ready!(this.poll_goaway(cx))?;
            if matches!(this.goaway, Goaway::Sent) {
                // The connection is over: h2 reads its end.
                return Poll::Ready(Ok(()));
            }
            // Waiting for h2 to finish the frame it is writing.
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            let mut bytes = &buf.filled()[before..];
            while let Some(header) = this.inbound.next_header(&mut bytes) {
                this.on_inbound(header);
            }
            if !matches!(this.goaway, Goaway::No) {
                // Sent now if it can be; the bytes read go to h2 either way.
                let _ = this.poll_goaway(cx);
            }
        }
        // A client trickling its preface a byte at a time is cut off as one that sends nothing.
        if let Some(deadline) = &mut this.handshake
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client sent no HTTP/2 preface and first frame within the handshake timeout",
            )));
        }
        read
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if !matches!(this.goaway, Goaway::No) {
            ready!(this.poll_goaway(cx))?;
            if matches!(this.goaway, Goaway::Sent) {
                // After our GOAWAY nothing more goes out; h2 is about to see the end.
                return Poll::Ready(Ok(buf.len()));
            }
        }
        let len = this.writable(buf.len());
        let n = ready!(Pin::new(&mut this.io).poll_write(cx, &buf[..len]))?;
        this.record(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if !matches!(self.goaway, Goaway::No) {
            // Rare: one slice at a time keeps the frame boundary simple.
            let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &**b);
            return self.poll_write(cx, first);
        }
        let this = &mut *self;
        let n = ready!(Pin::new(&mut this.io).poll_write_vectored(cx, bufs))?;
        let mut left = n;
        for slice in bufs {
            if left == 0 {
                break;
            }
            let take = left.min(slice.len());
            this.record(&slice[..take]);
            left -= take;
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl Guarded {
    /// Notes the frames in bytes h2 wrote.
    #[inline]
    fn record(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        while let Some(header) = self.outbound.next_header(&mut bytes) {
            self.on_outbound(header);
        }
    }
}
