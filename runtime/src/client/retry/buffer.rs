//! The request of a call that may be sent again: its one frame (unary), or its streamed
//! messages kept as they are sent, so a retry or hedge replays them (gRFC A6, "Memory
//! Management"). Each call may keep [`PER_CALL_LIMIT`] bytes, and all of a channel's calls
//! together what their `ChannelBudget` allows (`budget.rs`); a request that outgrows either
//! commits its call: the attempt that is sending it goes on, and no other attempt is made.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;
use http_body::{Body, Frame};

use crate::RpcError;
use crate::client::exchange::Outgoing;
use crate::client::retry::budget::ChannelBudget;
use crate::client::send_body::BoxBody;

/// What one call may keep for replay (gRPC's default `per_rpc_buffer_limit_in_bytes`).
pub(crate) const PER_CALL_LIMIT: usize = 256 * 1024;

/// A call's request, as each attempt sends it.
pub(crate) enum Replayable {
    /// A unary call's frame; `held` is what it takes of the channel's budget (0 if it did not
    /// fit, and then it is sent once).
    Frame { frame: Bytes, held: usize, budget: Arc<ChannelBudget> },
    /// Streamed messages.
    Body(Arc<Replay>),
}

impl Replayable {
    pub(crate) fn frame(frame: Bytes, budget: &Arc<ChannelBudget>) -> Replayable {
        let fits = frame.len() <= PER_CALL_LIMIT && budget.take(frame.len());
        Replayable::Frame { held: if fits { frame.len() } else { 0 }, frame, budget: budget.clone() }
    }

    pub(crate) fn body(body: BoxBody, budget: &Arc<ChannelBudget>) -> Replayable {
        Replayable::Body(Arc::new(Replay::new(body, budget.clone())))
    }

    /// The request for one more attempt; `attempt` numbers it (0 first).
    pub(crate) fn outgoing(&self, attempt: u32) -> Outgoing {
        match self {
            Replayable::Frame { frame, .. } => Outgoing::Frame(frame.clone()),
            Replayable::Body(replay) => {
                Outgoing::Body(Box::pin(ReplayBody { replay: replay.clone(), attempt, cursor: 0 }))
            }
        }
    }

    /// Whether the request outgrew the buffer, so the call may not be sent again.
    pub(crate) fn committed(&self) -> bool {
        match self {
            Replayable::Frame { frame, held, .. } => *held != frame.len(),
            Replayable::Body(replay) => replay.lock().committed_to.is_some(),
        }
    }
}

impl Drop for Replayable {
    fn drop(&mut self) {
        if let Replayable::Frame { held, budget, .. } = self {
            budget.give_back(*held);
        }
    }
}

/// Streamed request messages, shared by a call's attempts.
pub(crate) struct Replay {
    state: Mutex<State>,
    /// Wakes every attempt waiting for the next chunk: the source is polled with it, whichever
    /// attempt polls.
    waiting: Arc<Waiting>,
}

struct State {
    source: BoxBody,
    /// The chunks taken from the source so far, kept until the call commits.
    chunks: Vec<Bytes>,
    /// How many chunks have been taken from the source (`chunks` is emptied on commit).
    taken: usize,
    ended: bool,
    failed: Option<RpcError>,
    /// The attempt that goes on alone once the buffer overflowed.
    committed_to: Option<u32>,
    held: usize,
    budget: Arc<ChannelBudget>,
}

#[derive(Default)]
struct Waiting(Mutex<Vec<Waker>>);

impl Wake for Waiting {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Replay {
    fn new(source: BoxBody, budget: Arc<ChannelBudget>) -> Replay {
        let state = State {
            source,
            chunks: Vec::new(),
            taken: 0,
            ended: false,
            failed: None,
            committed_to: None,
            held: 0,
            budget,
        };
        Replay { state: Mutex::new(state), waiting: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Stops keeping chunks: `attempt` goes on alone.
    fn commit(&mut self, attempt: u32) {
        self.committed_to = Some(attempt);
        self.chunks = Vec::new();
        self.budget.give_back(std::mem::take(&mut self.held));
    }
}

impl Drop for State {
    fn drop(&mut self) {
        self.budget.give_back(self.held);
    }
}

/// One attempt's view of a [`Replay`]: the kept chunks, then new ones from the source.
struct ReplayBody {
    replay: Arc<Replay>,
    attempt: u32,
    /// The next chunk this attempt sends.
    cursor: usize,
}

impl Body for ReplayBody {
    type Data = Bytes;
    type Error = RpcError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, RpcError>>> {
        let this = &mut *self;
        let mut state = this.replay.lock();
        if let Some(owner) = state.committed_to {
            if owner != this.attempt || this.cursor != state.taken {
                return Poll::Ready(Some(Err(RpcError::cancelled(
                    "the request outgrew the retry buffer, and another attempt was committed to",
                ))));
            }
        } else if let Some(chunk) = state.chunks.get(this.cursor) {
            this.cursor += 1;
            return Poll::Ready(Some(Ok(Frame::data(chunk.clone()))));
        }
        if let Some(err) = &state.failed {
            return Poll::Ready(Some(Err(err.clone())));
        }
        if state.ended {
            return Poll::Ready(None);
        }
        // This attempt is the furthest along: take the next chunk from the source, waking
        // every waiting attempt when it comes.
        {
            let mut waiting = this.replay.waiting.0.lock().unwrap_or_else(PoisonError::into_inner);
            if !waiting.iter().any(|waker| waker.will_wake(cx.waker())) {
                waiting.push(cx.waker().clone());
            }
        }
        let waker = Waker::from(this.replay.waiting.clone());
        let polled = state.source.as_mut().poll_frame(&mut Context::from_waker(&waker));
        let data = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => {
                state.ended = true;
                drop(state);
                this.replay.waiting.wake_by_ref();
                return Poll::Ready(None);
            }
            Poll::Ready(Some(Err(err))) => {
                state.failed = Some(err.clone());
                drop(state);
                this.replay.waiting.wake_by_ref();
                return Poll::Ready(Some(Err(err)));
            }
            // A request body has no trailers: only data matters.
            Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        };
        state.ended = state.source.is_end_stream();
        state.taken += 1;
        this.cursor += 1;
        if state.committed_to.is_none() {
            let total = state.held + data.len();
            if total <= PER_CALL_LIMIT && state.budget.take(data.len()) {
                state.held = total;
                state.chunks.push(data.clone());
            } else {
                state.commit(this.attempt);
            }
        }
        drop(state);
        this.replay.waiting.wake_by_ref();
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        let state = self.replay.lock();
        state.ended && self.cursor >= state.taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(chunks: Vec<Bytes>) -> BoxBody {
        Box::pin(Chunks(chunks.into_iter().rev().collect()))
    }

    /// A body of ready chunks.
    struct Chunks(Vec<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = RpcError;

        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, RpcError>>> {
            Poll::Ready(self.0.pop().map(|c| Ok(Frame::data(c))))
        }

        fn is_end_stream(&self) -> bool {
            self.0.is_empty()
        }
    }

    async fn collect(outgoing: Outgoing) -> Result<Vec<u8>, RpcError> {
        let Outgoing::Body(body) = outgoing else { panic!("a body") };
        let mut body = body;
        let mut bytes = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            bytes.extend_from_slice(&frame?.into_data().unwrap_or_default());
        }
        Ok(bytes)
    }

    #[tokio::test]
    async fn every_attempt_sends_the_same_bytes_and_the_budget_is_given_back() {
        let budget = Arc::new(ChannelBudget::default());
        let request = Replayable::body(body_of(vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cd")]), &budget);
        assert_eq!(collect(request.outgoing(0)).await.ok(), Some(b"abcd".to_vec()));
        assert_eq!(collect(request.outgoing(1)).await.ok(), Some(b"abcd".to_vec()));
        assert!(!request.committed());
        assert_eq!(budget.held(), 4);
        drop(request);
        assert_eq!(budget.held(), 0);
    }

    #[tokio::test]
    async fn a_request_larger_than_the_call_limit_commits_to_the_attempt_sending_it() {
        let budget = Arc::new(ChannelBudget::default());
        let big = Bytes::from(vec![7u8; PER_CALL_LIMIT]);
        let request = Replayable::body(body_of(vec![Bytes::from_static(b"x"), big]), &budget);
        assert_eq!(collect(request.outgoing(0)).await.map(|b| b.len()).ok(), Some(PER_CALL_LIMIT + 1));
        assert!(request.committed());
        assert_eq!(budget.held(), 0, "nothing kept once committed");
        let err = collect(request.outgoing(1)).await.expect_err("no replay");
        assert_eq!(err.code(), crate::Code::Cancelled);
        let frame = Replayable::frame(Bytes::from(vec![0u8; PER_CALL_LIMIT + 1]), &budget);
        assert!(frame.committed(), "a frame over the limit is sent once");
        assert!(!Replayable::frame(Bytes::from_static(b"small"), &budget).committed());
    }
}
