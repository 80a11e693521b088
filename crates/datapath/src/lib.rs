//! Switchyard datapath (in progress).
