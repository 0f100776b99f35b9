//! Q.931 over Q.921: one D-channel's layers composed (DESIGN.md practice 3). Frames in
//! and out at the bottom, call events out and requests in at the top; the stack drains
//! layer 2 then layer 3 until both are quiet, and its deadline is the sooner of theirs.

use std::collections::VecDeque;
use std::time::Instant;

use super::interface::{Pri, PriEvent, PriOutput};
use crate::q921::{self, DataLink, Output, Request, RxError};

/// What the stack hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackOutput {
    /// A LAPD frame to send on the D-channel (from the address octet, no FCS).
    Transmit(Vec<u8>),
    /// A call event.
    Event(PriEvent),
    /// A data link event, for counters and logs (MDL-ERROR and the like).
    Link(q921::Event),
}

/// Layer 2 and layer 3 of one PRI D-channel.
#[derive(Debug)]
pub struct PriStack {
    /// Layer 2.
    pub link: DataLink,
    /// Layer 3.
    pub l3: Pri,
    out: VecDeque<StackOutput>,
}

impl PriStack {
    /// Both layers, the link asked to come up (PRI keeps it up).
    pub fn new(now: Instant, link: q921::Config, l3: super::Config) -> Self {
        let mut s = PriStack {
            link: DataLink::new(link),
            l3: Pri::new(l3),
            out: VecDeque::new(),
        };
        // A released link accepts an establish request: cannot fail.
        let _ = s.link.handle_request(now, Request::Establish);
        s.pump(now);
        s
    }

    /// Moves primitives between the layers until both are quiet.
    pub fn pump(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(o) = self.link.poll_output() {
                moved = true;
                match o {
                    Output::Transmit(f) => self.out.push_back(StackOutput::Transmit(f)),
                    Output::Event(q921::Event::Data(m)) => {
                        // A message layer 3 refuses is counted there, not here.
                        let _ = self.l3.handle_message(now, &m);
                        self.link.recycle(m);
                    }
                    Output::Event(e) => {
                        self.l3.handle_dl_event(now, &e);
                        self.out.push_back(StackOutput::Link(e));
                    }
                }
            }
            while let Some(o) = self.l3.poll_output() {
                moved = true;
                match o {
                    PriOutput::Transmit(m) => {
                        // Our own messages: at most a few hundred octets, well below N201
                        // unless the call core built an oversized one (then dropped).
                        let _ = self.link.handle_request(now, Request::Data(&m));
                    }
                    PriOutput::Event(e) => self.out.push_back(StackOutput::Event(e)),
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// A received frame (address octet on, FCS off).
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) -> Result<(), RxError> {
        let r = self.link.handle_frame(now, frame);
        self.pump(now);
        r
    }

    /// Runs both layers' due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.link.handle_timeout(now);
        self.l3.handle_timeout(now);
        self.pump(now);
    }

    /// The sooner deadline of the two layers.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.link.poll_timeout(), self.l3.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Gives back a transmitted frame's buffer for reuse.
    pub fn recycle(&mut self, frame: Vec<u8>) {
        self.link.recycle(frame);
    }

    /// The next output. Call [`PriStack::pump`] after using [`PriStack::l3`] directly.
    pub fn poll_output(&mut self) -> Option<StackOutput> {
        self.out.pop_front()
    }
}
