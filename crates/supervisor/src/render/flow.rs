//! `show flow monitor [NAME]`: NX-OS's layout, with the port-profiles that apply each monitor.

use super::text::line;
use crate::policy_views::FlowMonitorView;

/// Every monitor in `monitors`, a blank line between two.
pub fn show_flow_monitor(monitors: &[FlowMonitorView]) -> String {
    let mut out = String::new();
    for (index, monitor) in monitors.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let mut put = |args: std::fmt::Arguments<'_>| line(&mut out, args);
        put(format_args!("Flow Monitor {}:", monitor.name));
        if let Some(description) = &monitor.description {
            put(format_args!("    Description: {description}"));
        }
        put(format_args!("    Use count: {}", monitor.use_count()));
        put(format_args!("    Flow Record: {}", monitor.record));
        for exporter in &monitor.exporters {
            put(format_args!("    Flow Exporter: {exporter}"));
        }
        put(format_args!("    Inactive timeout: {}", monitor.inactive_timeout));
        put(format_args!("    Active timeout: {}", monitor.active_timeout));
        if let Some(size) = monitor.cache_size {
            put(format_args!("    Cache Size: {size}"));
        }
        for applied in &monitor.uses {
            let ports = if applied.ports == 1 { "vEthernet" } else { "vEthernets" };
            put(format_args!(
                "    Port-profile {}: {} ({} {ports})",
                applied.profile, applied.direction, applied.ports
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_views::MonitorUse;

    #[test]
    fn nx_os_layout_with_the_profiles_using_it() {
        let monitor = FlowMonitorView {
            name: "MON".into(),
            description: None,
            record: "netflow-original",
            exporters: vec!["COLLECTOR".into()],
            active_timeout: 60,
            inactive_timeout: 15,
            cache_size: None,
            uses: vec![
                MonitorUse { profile: "db".into(), direction: "output", ports: 1 },
                MonitorUse { profile: "web".into(), direction: "input", ports: 1 },
            ],
        };
        let other = FlowMonitorView {
            name: "IDLE".into(),
            description: Some("spare".into()),
            exporters: Vec::new(),
            cache_size: Some(4096),
            uses: Vec::new(),
            ..monitor.clone()
        };
        assert_eq!(
            show_flow_monitor(&[monitor, other]),
            "Flow Monitor MON:\n\
             \x20   Use count: 2\n\
             \x20   Flow Record: netflow-original\n\
             \x20   Flow Exporter: COLLECTOR\n\
             \x20   Inactive timeout: 15\n\
             \x20   Active timeout: 60\n\
             \x20   Port-profile db: output (1 vEthernet)\n\
             \x20   Port-profile web: input (1 vEthernet)\n\
             \n\
             Flow Monitor IDLE:\n\
             \x20   Description: spare\n\
             \x20   Use count: 0\n\
             \x20   Flow Record: netflow-original\n\
             \x20   Inactive timeout: 15\n\
             \x20   Active timeout: 60\n\
             \x20   Cache Size: 4096\n"
        );
    }
}
