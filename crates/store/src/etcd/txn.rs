//! [`Txn`] ↔ etcd's transactions.

use etcd_client::{Compare as EtcdCompare, CompareOp, DeleteOptions, PutOptions, TxnOp, TxnOpResponse};

use super::keys::Keyspace;
use crate::{Compare, LeaseId, Op, StoreError, Txn, TxnResponse};

pub(super) fn to_etcd(keys: &Keyspace, txn: &Txn) -> etcd_client::Txn {
    let compares: Vec<EtcdCompare> = txn
        .compare
        .iter()
        .map(|compare| match compare {
            Compare::ModRevision(key, revision) => {
                EtcdCompare::mod_revision(keys.etcd_key(key), CompareOp::Equal, *revision)
            }
            Compare::CreateRevision(key, revision) => {
                EtcdCompare::create_revision(keys.etcd_key(key), CompareOp::Equal, *revision)
            }
            Compare::Value(key, value) => {
                EtcdCompare::value(keys.etcd_key(key), CompareOp::Equal, value.clone())
            }
        })
        .collect();
    let ops = |ops: &[Op]| ops.iter().map(|op| op_to_etcd(keys, op)).collect::<Vec<_>>();
    etcd_client::Txn::new().when(compares).and_then(ops(&txn.success)).or_else(ops(&txn.failure))
}

fn op_to_etcd(keys: &Keyspace, op: &Op) -> TxnOp {
    match op {
        Op::Put { key, value } => TxnOp::put(keys.etcd_key(key), value.clone(), None),
        Op::PutLeased { key, value, lease } => {
            TxnOp::put(keys.etcd_key(key), value.clone(), Some(PutOptions::new().with_lease(*lease)))
        }
        Op::Delete { key } => TxnOp::delete(keys.etcd_key(key), None),
        Op::DeletePrefix { prefix } => {
            TxnOp::delete(keys.etcd_key(prefix), Some(DeleteOptions::new().with_prefix()))
        }
        Op::Get { key } => TxnOp::get(keys.etcd_key(key), None),
    }
}

pub(super) fn from_etcd(
    keys: &Keyspace,
    response: &etcd_client::TxnResponse,
) -> Result<TxnResponse, StoreError> {
    let mut gets = Vec::new();
    for op in response.op_responses() {
        if let TxnOpResponse::Get(get) = op {
            gets.push(get.kvs().first().map(|kv| keys.key_value(kv)).transpose()?);
        }
    }
    Ok(TxnResponse {
        succeeded: response.succeeded(),
        revision: response.header().map_or(0, etcd_client::ResponseHeader::revision),
        gets,
    })
}

/// The distinct leases a transaction puts keys onto, in order of first use.
pub(super) fn leases_used(txn: &Txn) -> Vec<LeaseId> {
    let mut leases = Vec::new();
    for op in txn.success.iter().chain(&txn.failure) {
        if let Op::PutLeased { lease, .. } = op
            && !leases.contains(lease)
        {
            leases.push(*lease);
        }
    }
    leases
}
