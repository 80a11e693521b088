//! Running the lines of the policy objects: access lists and their entries, `resequence`,
//! `ip dhcp snooping`, flow exporters and monitors.

use std::collections::BTreeMap;

use super::{Context, Run};
use crate::acl::{AccessList, Family, SEQUENCE_MAX};
use crate::change::Touched;
use crate::error::ConfigError;
use crate::flow::{FlowExporter, FlowMonitor, FlowRecord, MONITOR_EXPORTERS_MAX};
use crate::grammar::Value;
use crate::language::Op;
use crate::script::ScriptLine;
use crate::validate::{Field, Subject};

/// A named object that has a sub-mode of its own: how to find, create and delete it.
#[derive(Debug, Clone)]
enum Named {
    AccessList(Family, String),
    FlowExporter(String),
    FlowMonitor(String),
    IpPool(String),
}

impl Named {
    fn touched(&self) -> Touched {
        match self {
            Self::AccessList(family, name) => Touched::AccessList(*family, name.clone()),
            Self::FlowExporter(name) => Touched::FlowExporter(name.clone()),
            Self::FlowMonitor(name) => Touched::FlowMonitor(name.clone()),
            Self::IpPool(name) => Touched::IpPool(name.clone()),
        }
    }

    fn subject(&self, field: Field) -> Subject {
        match self {
            Self::AccessList(family, name) => Subject::AccessList(*family, name.clone(), field),
            Self::FlowExporter(name) => Subject::FlowExporter(name.clone(), field),
            Self::FlowMonitor(name) => Subject::FlowMonitor(name.clone(), field),
            Self::IpPool(name) => Subject::IpPool(name.clone(), field),
        }
    }

    fn context(&self) -> Context {
        match self {
            Self::AccessList(family, name) => Context::AccessList(*family, name.clone()),
            Self::FlowExporter(name) => Context::FlowExporter(name.clone()),
            Self::FlowMonitor(name) => Context::FlowMonitor(name.clone()),
            Self::IpPool(name) => Context::IpPool(name.clone()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::AccessList(family, name) => format!("{} access-list '{name}'", family.keyword()),
            Self::FlowExporter(name) => format!("flow exporter '{name}'"),
            Self::FlowMonitor(name) => format!("flow monitor '{name}'"),
            Self::IpPool(name) => format!("ip pool '{name}'"),
        }
    }
}

fn exists(config: &crate::Config, named: &Named) -> bool {
    match named {
        Named::AccessList(family, name) => config.access_lists(*family).contains_key(name),
        Named::FlowExporter(name) => config.flow_exporters.contains_key(name),
        Named::FlowMonitor(name) => config.flow_monitors.contains_key(name),
        Named::IpPool(name) => config.ip_pools.contains_key(name),
    }
}

fn create(config: &mut crate::Config, named: &Named) {
    match named {
        Named::AccessList(family, name) => {
            config.access_lists_mut(*family).insert(name.clone(), AccessList::default());
        }
        Named::FlowExporter(name) => {
            config.flow_exporters.insert(name.clone(), FlowExporter::default());
        }
        Named::FlowMonitor(name) => {
            config.flow_monitors.insert(name.clone(), FlowMonitor::default());
        }
        Named::IpPool(name) => {
            config.ip_pools.insert(name.clone(), crate::ip_pool::IpPool::default());
        }
    }
}

fn remove(config: &mut crate::Config, named: &Named) -> bool {
    match named {
        Named::AccessList(family, name) => config.access_lists_mut(*family).remove(name).is_some(),
        Named::FlowExporter(name) => config.flow_exporters.remove(name).is_some(),
        Named::FlowMonitor(name) => config.flow_monitors.remove(name).is_some(),
        Named::IpPool(name) => config.ip_pools.remove(name).is_some(),
    }
}

impl Run {
    /// Runs one line of the policy objects.
    pub(super) fn execute_policy(&mut self, line: &ScriptLine<'_>) -> Result<(), ConfigError> {
        let st = &line.statement;
        let fail = |column: usize, message: String| ConfigError::at(line.number, column, message);
        let name = || st.text(0).unwrap_or_default().to_string();
        match st.op {
            Op::AccessList(family) => self.header(line, &Named::AccessList(family, name())),
            Op::FlowExporter => self.header(line, &Named::FlowExporter(name())),
            Op::FlowMonitor => self.header(line, &Named::FlowMonitor(name())),
            Op::IpPool => self.header(line, &Named::IpPool(name())),
            Op::Resequence(family) => {
                self.context = Context::None;
                self.resequence(line, family)
            }
            Op::DhcpSnooping => {
                self.context = Context::None;
                self.config.dhcp_snooping = !st.negated;
                self.touch(Touched::DhcpSnooping, line);
                Ok(())
            }
            Op::Ace { .. } | Op::StatisticsPerEntry => {
                let Context::AccessList(family, name) = &self.context else {
                    return Err(fail(st.column, "no access-list sub-mode for this line".to_string()));
                };
                let (family, name) = (*family, name.clone());
                self.touch(Touched::AccessList(family, name.clone()), line);
                let mut lists = std::mem::take(self.config.access_lists_mut(family));
                let result = match lists.get_mut(&name) {
                    None => Err(fail(
                        st.column,
                        format!("{} access-list '{name}' does not exist", family.keyword()),
                    )),
                    Some(list) => self.access_list_line(line, family, &name, list),
                };
                *self.config.access_lists_mut(family) = lists;
                result
            }
            Op::FlowDestination | Op::FlowTransport | Op::FlowVersion(_) | Op::FlowDscp => {
                let Context::FlowExporter(name) = &self.context else {
                    return Err(fail(st.column, "no flow exporter sub-mode for this line".to_string()));
                };
                let name = name.clone();
                self.exporter_line(line, &name)
            }
            Op::FlowDescription => match &self.context {
                Context::FlowExporter(name) => {
                    let name = name.clone();
                    self.exporter_line(line, &name)
                }
                Context::FlowMonitor(name) => {
                    let name = name.clone();
                    self.monitor_line(line, &name)
                }
                _ => Err(fail(st.column, "no flow exporter or monitor sub-mode for this line".to_string())),
            },
            _ => {
                let Context::FlowMonitor(name) = &self.context else {
                    return Err(fail(st.column, "no flow monitor sub-mode for this line".to_string()));
                };
                let name = name.clone();
                self.monitor_line(line, &name)
            }
        }
    }

    /// `ip access-list NAME`, `flow exporter NAME`, … and their `no` forms, as `bridge-domain`:
    /// entering an existing one changes nothing; deleting one that is used is refused by
    /// validation at this line.
    fn header(&mut self, line: &ScriptLine<'_>, named: &Named) -> Result<(), ConfigError> {
        let st = &line.statement;
        let column = st.arg_column(0);
        self.context = Context::None;
        if st.negated {
            if !remove(&mut self.config, named) {
                return Err(ConfigError::at(
                    line.number,
                    column,
                    format!("{} does not exist", named.describe()),
                ));
            }
            self.sites.insert(named.subject(Field::Removed), (line.number, column));
            self.touch(named.touched(), line);
        } else {
            if !exists(&self.config, named) {
                create(&mut self.config, named);
                self.touch(named.touched(), line);
            }
            self.sites.insert(named.subject(Field::Header), (line.number, column));
            self.context = named.context();
        }
        Ok(())
    }

    /// `[SEQ] permit|deny …`, `no SEQ`, `no permit|deny …`, `statistics per-entry`.
    fn access_list_line(
        &mut self,
        line: &ScriptLine<'_>,
        family: Family,
        name: &str,
        list: &mut AccessList,
    ) -> Result<(), ConfigError> {
        let st = &line.statement;
        let fail = |column: usize, message: String| ConfigError::at(line.number, column, message);
        let what = format!("{} access-list '{name}'", family.keyword());
        let Op::Ace { numbered, .. } = st.op else {
            list.statistics_per_entry = !st.negated;
            self.sites.insert(
                Subject::AccessList(family, name.to_string(), Field::StatisticsPerEntry),
                (line.number, st.column),
            );
            return Ok(());
        };
        let ace = st.args.iter().find_map(|arg| match &arg.value {
            Value::Ace(ace) => Some((**ace).clone()),
            _ => None,
        });
        let ace_column = st.args.last().map_or(st.column, |arg| arg.column);
        let sequence = if numbered {
            st.number(0).unwrap_or_default()
        } else if st.negated {
            let Some(ace) = &ace else { return Err(fail(st.column, "incomplete command".to_string())) };
            let found = list.entries.iter().find(|(_, entry)| *entry == ace).map(|(sequence, _)| *sequence);
            found.ok_or_else(|| fail(ace_column, format!("{what} has no entry '{}'", ace.display(family))))?
        } else {
            list.next_sequence().ok_or_else(|| {
                fail(st.column, format!("{what} has no sequence number left after {SEQUENCE_MAX}"))
            })?
        };
        let site = (line.number, if numbered { st.arg_column(0) } else { st.column });
        self.sites.insert(Subject::AccessList(family, name.to_string(), Field::Entry(sequence)), site);
        if st.negated {
            if list.entries.remove(&sequence).is_none() {
                return Err(fail(site.1, format!("{what} has no entry {sequence}")));
            }
            return Ok(());
        }
        let Some(ace) = ace else { return Err(fail(st.column, "incomplete command".to_string())) };
        match list.entries.get(&sequence) {
            // The same entry again (a running-config applied onto itself) changes nothing.
            Some(existing) if *existing == ace => Ok(()),
            Some(existing) => Err(fail(
                site.1,
                format!(
                    "sequence number {sequence} is already used in {what} by '{}'; remove it first (no {sequence})",
                    existing.display(family)
                ),
            )),
            None => {
                list.entries.insert(sequence, ace);
                Ok(())
            }
        }
    }

    /// `resequence ip|ipv6 access-list NAME START STEP`.
    fn resequence(&mut self, line: &ScriptLine<'_>, family: Family) -> Result<(), ConfigError> {
        let st = &line.statement;
        let name = st.text(0).unwrap_or_default().to_string();
        let (start, step) = (st.number(1).unwrap_or(10), st.number(2).unwrap_or(10));
        let Some(list) = self.config.access_lists_mut(family).get_mut(&name) else {
            return Err(ConfigError::at(
                line.number,
                st.arg_column(0),
                format!("{} access-list '{name}' does not exist", family.keyword()),
            ));
        };
        let count = u64::try_from(list.entries.len()).unwrap_or(u64::MAX);
        let last = u64::from(start) + count.saturating_sub(1) * u64::from(step);
        if last > u64::from(SEQUENCE_MAX) {
            return Err(ConfigError::at(
                line.number,
                st.arg_column(2),
                format!("resequencing {count} entries from {start} by {step} passes {SEQUENCE_MAX}"),
            ));
        }
        let renumbered: BTreeMap<u32, _> = std::mem::take(&mut list.entries)
            .into_values()
            .zip((0u64..).map(|i| u64::from(start) + i * u64::from(step)))
            .filter_map(|(ace, sequence)| Some((u32::try_from(sequence).ok()?, ace)))
            .collect();
        list.entries = renumbered;
        self.sites.insert(
            Subject::AccessList(family, name.clone(), Field::Header),
            (line.number, st.arg_column(0)),
        );
        self.touch(Touched::AccessList(family, name), line);
        Ok(())
    }

    fn exporter_line(&mut self, line: &ScriptLine<'_>, name: &str) -> Result<(), ConfigError> {
        let st = &line.statement;
        self.touch(Touched::FlowExporter(name.to_string()), line);
        let Some(exporter) = self.config.flow_exporters.get_mut(name) else {
            return Err(ConfigError::at(
                line.number,
                st.column,
                format!("flow exporter '{name}' does not exist"),
            ));
        };
        let set = !st.negated;
        let field = match st.op {
            Op::FlowDescription => {
                exporter.description = st.text(0).filter(|_| set).map(str::to_string);
                Field::Description
            }
            Op::FlowDestination => {
                exporter.destination = match st.arg(0).map(|a| &a.value) {
                    Some(Value::Address(address)) if set => Some(*address),
                    _ => None,
                };
                Field::Destination
            }
            Op::FlowTransport => {
                exporter.transport_udp = st.number(0).and_then(|n| u16::try_from(n).ok()).filter(|_| set);
                Field::Transport
            }
            Op::FlowVersion(version) => {
                exporter.version = set.then_some(version);
                Field::Version
            }
            _ => {
                exporter.dscp = st.number(0).and_then(|n| u8::try_from(n).ok()).filter(|_| set);
                Field::Dscp
            }
        };
        self.set_site(Subject::FlowExporter(name.to_string(), field), line, st);
        Ok(())
    }

    fn monitor_line(&mut self, line: &ScriptLine<'_>, name: &str) -> Result<(), ConfigError> {
        let st = &line.statement;
        let fail = |column: usize, message: String| ConfigError::at(line.number, column, message);
        self.touch(Touched::FlowMonitor(name.to_string()), line);
        let Some(monitor) = self.config.flow_monitors.get_mut(name) else {
            return Err(fail(st.column, format!("flow monitor '{name}' does not exist")));
        };
        let set = !st.negated;
        let field = match st.op {
            Op::FlowDescription => {
                monitor.description = st.text(0).filter(|_| set).map(str::to_string);
                Field::Description
            }
            Op::FlowRecord => {
                monitor.record = set.then_some(FlowRecord::NetflowOriginal);
                Field::Record
            }
            Op::MonitorExporter => {
                let exporter = st.text(0).unwrap_or_default().to_string();
                let position = monitor.exporters.iter().position(|e| *e == exporter);
                match (set, position) {
                    (true, Some(_)) => {}
                    (true, None) if monitor.exporters.len() >= MONITOR_EXPORTERS_MAX => {
                        return Err(fail(
                            st.arg_column(0),
                            format!("a flow monitor sends to at most {MONITOR_EXPORTERS_MAX} exporters"),
                        ));
                    }
                    (true, None) => monitor.exporters.push(exporter),
                    (false, Some(i)) => {
                        monitor.exporters.remove(i);
                    }
                    (false, None) => {
                        return Err(fail(
                            st.arg_column(0),
                            format!("flow monitor '{name}' does not use exporter '{exporter}'"),
                        ));
                    }
                }
                Field::Exporters
            }
            Op::TimeoutActive => {
                monitor.timeout_active = st.number(0).filter(|_| set);
                Field::TimeoutActive
            }
            Op::TimeoutInactive => {
                monitor.timeout_inactive = st.number(0).filter(|_| set);
                Field::TimeoutInactive
            }
            _ => {
                monitor.cache_size = st.number(0).filter(|_| set);
                Field::CacheSize
            }
        };
        self.set_site(Subject::FlowMonitor(name.to_string(), field), line, st);
        Ok(())
    }
}
