//! Running the lines of the `ip pool` sub-mode: `network`, `default-router`, `range`, `exclude`.

use std::net::{IpAddr, Ipv4Addr};

use super::{Context, Run};
use crate::change::Touched;
use crate::error::ConfigError;
use crate::grammar::Value;
use crate::ip_pool::AddressRange;
use crate::language::Op;
use crate::script::ScriptLine;
use crate::validate::{Field, Subject};

impl Run {
    /// One line under `ip pool NAME`.
    pub(super) fn pool_line(&mut self, line: &ScriptLine<'_>) -> Result<(), ConfigError> {
        let st = &line.statement;
        let fail = |column: usize, message: String| ConfigError::at(line.number, column, message);
        let Context::IpPool(name) = &self.context else {
            return Err(fail(st.column, "no ip pool sub-mode for this line".to_string()));
        };
        let name = name.clone();
        self.touch(Touched::IpPool(name.clone()), line);
        let Some(pool) = self.config.ip_pools.get_mut(&name) else {
            return Err(fail(st.column, format!("ip pool '{name}' does not exist")));
        };
        let set = !st.negated;
        let address = |i: usize| match st.arg(i).map(|a| &a.value) {
            Some(Value::Address(IpAddr::V4(a))) => Some(*a),
            _ => None,
        };
        let field = match st.op {
            Op::PoolNetwork => {
                pool.network = match st.arg(0).map(|a| &a.value) {
                    Some(Value::Ipv4Prefix(network)) if set => Some(*network),
                    _ => None,
                };
                Field::Network
            }
            Op::PoolDefaultRouter => {
                pool.default_router = address(0).filter(|_| set);
                Field::DefaultRouter
            }
            Op::PoolRange | Op::PoolExclude => {
                let first: Ipv4Addr = address(0).unwrap_or(Ipv4Addr::UNSPECIFIED);
                let range = AddressRange { first, last: address(1).unwrap_or(first) };
                let (lines, field, word) = if st.op == Op::PoolRange {
                    (&mut pool.ranges, Field::Ranges, "range")
                } else {
                    (&mut pool.excludes, Field::Excludes, "exclude")
                };
                if set {
                    lines.insert(range);
                } else if !lines.remove(&range) {
                    return Err(fail(st.arg_column(0), format!("ip pool {name} has no such {word} line")));
                }
                field
            }
            _ => Field::Header,
        };
        self.sites.insert(Subject::IpPool(name, field), (line.number, st.arg_column(0)));
        Ok(())
    }
}
