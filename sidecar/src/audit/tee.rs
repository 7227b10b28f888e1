//! One sink feeding two: online, the control plane and the local trail (`--audit-file`).

use std::io;

use super::{AuditEvent, AuditSink};
use crate::store::Store;

/// Hands every batch to both sinks; a failure of one does not keep the other from its batch.
pub struct Tee(pub Box<dyn AuditSink>, pub Box<dyn AuditSink>);

impl AuditSink for Tee {
    fn write_batch(
        &mut self,
        events: &[AuditEvent],
        dropped: u64,
        store: &Store,
    ) -> io::Result<()> {
        let first = self.0.write_batch(events, dropped, store);
        let second = self.1.write_batch(events, dropped, store);
        first.and(second)
    }

    fn finish(&mut self) {
        self.0.finish();
        self.1.finish();
    }
}
