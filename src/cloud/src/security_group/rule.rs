//! One security-group rule, normalized: what the API accepts in its flat or `Permissions.N`
//! form becomes a [`Rule`] with typed fields, which is what the packet filter will be built
//! from. Parsing checks every field and answers with the ECS error code for it.

use std::fmt;
use std::net::Ipv4Addr;

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "ingress" => Some(Direction::Ingress),
            "egress" => Some(Direction::Egress),
            _ => None,
        }
    }
}

/// IP protocols ECS rules accept. ECS reports them upper-case (`TCP`, `ALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Gre,
    All,
}

impl Protocol {
    /// Case-insensitive, as ECS accepts `tcp`, `TCP`, `Tcp`.
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "icmp" => Some(Protocol::Icmp),
            "gre" => Some(Protocol::Gre),
            "all" => Some(Protocol::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Icmp => "ICMP",
            Protocol::Gre => "GRE",
            Protocol::All => "ALL",
        }
    }

    /// Only TCP and UDP have ports; the others take the range `-1/-1`.
    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp)
    }
}

/// A port range: `Any` is ECS's `-1/-1`; `Ports` is `start/end` with 1 ≤ start ≤ end ≤ 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortRange {
    Any,
    Ports { start: u16, end: u16 },
}

impl PortRange {
    /// Parses `start/end`; `None` when the text is not two integers separated by `/`, or the
    /// numbers are neither `-1/-1` nor a valid 1–65535 range.
    pub fn parse(s: &str) -> Option<PortRange> {
        let (a, b) = s.trim().split_once('/')?;
        let (a, b) = (a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?);
        if a == -1 && b == -1 {
            return Some(PortRange::Any);
        }
        if (1..=65535).contains(&a) && (1..=65535).contains(&b) && a <= b {
            return Some(PortRange::Ports {
                start: a as u16,
                end: b as u16,
            });
        }
        None
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortRange::Any => write!(f, "-1/-1"),
            PortRange::Ports { start, end } => write!(f, "{start}/{end}"),
        }
    }
}

/// An IPv4 network as ECS accepts it: `a.b.c.d/len` or a single address (`/32`). Host bits are
/// kept as given (ECS does not reject `10.0.0.1/8`); [`Ipv4Net::network`] gives the masked base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub fn parse(s: &str) -> Option<Ipv4Net> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => {
                // Reject "+8", " 8", "08"-style oddities: digits only, no leading zero.
                if p.is_empty()
                    || !p.bytes().all(|c| c.is_ascii_digit())
                    || (p.len() > 1 && p.starts_with('0'))
                {
                    return None;
                }
                (a, p.parse::<u8>().ok()?)
            }
            None => (s, 32),
        };
        if prefix > 32 {
            return None;
        }
        // std's parser accepts only the dotted-quad form without leading zeros.
        let addr = addr.parse::<Ipv4Addr>().ok()?;
        Some(Ipv4Net { addr, prefix })
    }

    pub fn network(&self) -> Ipv4Addr {
        let mask = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        };
        Ipv4Addr::from(u32::from(self.addr) & mask)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The far side of a rule: where ingress traffic comes from, or where egress goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Peer {
    Cidr(Ipv4Net),
    Group(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    Accept,
    Drop,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        match s.to_ascii_lowercase().as_str() {
            "accept" => Some(Policy::Accept),
            "drop" => Some(Policy::Drop),
            _ => None,
        }
    }

    /// As ECS reports it: `Accept` / `Drop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Accept => "Accept",
            Policy::Drop => "Drop",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NicType {
    Intranet,
    Internet,
}

impl NicType {
    pub fn parse(s: &str) -> Option<NicType> {
        match s {
            "intranet" => Some(NicType::Intranet),
            "internet" => Some(NicType::Internet),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NicType::Intranet => "intranet",
            NicType::Internet => "internet",
        }
    }
}

pub const MIN_PRIORITY: i64 = 1;
pub const MAX_PRIORITY: i64 = 100;

/// A normalized rule. Priority 1 is the most important; among equal priorities Drop wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub direction: Direction,
    pub protocol: Protocol,
    /// Destination ports of the packet (`Any` unless TCP/UDP).
    pub ports: PortRange,
    /// Source ports of the packet, when the rule restricts them.
    pub source_ports: Option<PortRange>,
    pub peer: Peer,
    /// The local-side network, when the rule restricts it (ingress DestCidrIp / egress SourceCidrIp).
    pub local: Option<Ipv4Net>,
    pub policy: Policy,
    pub priority: u8,
    pub nic_type: NicType,
    pub description: String,
}

impl Rule {
    /// What makes two rules the same rule: everything except the description. Authorizing a
    /// rule with an existing identity adds nothing; revoking matches on it.
    pub fn identity(&self) -> String {
        let peer = match &self.peer {
            Peer::Cidr(n) => format!("cidr:{n}"),
            Peer::Group(g) => format!("group:{g}"),
        };
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.direction.as_str(),
            self.protocol.as_str(),
            self.ports,
            self.source_ports.map(|p| p.to_string()).unwrap_or_default(),
            peer,
            self.local.map(|n| n.to_string()).unwrap_or_default(),
            self.policy.as_str(),
            self.priority,
            self.nic_type.as_str(),
        )
    }
}

/// One rule as the request gave it: the raw text of each field, `None` when not given.
/// `prefix` is how its parameters are named in errors: `""` for the flat form,
/// `"Permissions.2."` for the second entry of the list form.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub prefix: String,
    pub ip_protocol: Option<String>,
    pub port_range: Option<String>,
    pub source_port_range: Option<String>,
    pub source_cidr_ip: Option<String>,
    pub dest_cidr_ip: Option<String>,
    pub source_group_id: Option<String>,
    pub dest_group_id: Option<String>,
    pub policy: Option<String>,
    pub priority: Option<String>,
    pub nic_type: Option<String>,
    pub description: Option<String>,
}

impl RuleInput {
    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// Checks every field and normalizes. Group peers are only checked for form here; whether
    /// they exist is the caller's (store-backed) check.
    pub fn parse(&self, direction: Direction) -> Result<Rule> {
        let protocol_text = self
            .ip_protocol
            .as_deref()
            .ok_or_else(|| Error::missing_parameter(&self.name("IpProtocol")))?;
        let protocol = Protocol::parse(protocol_text).ok_or_else(|| {
            Error::bad_request(
                "InvalidIpProtocol.Malformed",
                format!(
                    "The specified parameter \"{}\" is not valid: {protocol_text:?} is not one of tcp, udp, icmp, gre, all.",
                    self.name("IpProtocol")
                ),
            )
        })?;

        let ports = match self.port_range.as_deref() {
            // ICMP, GRE and ALL have no ports; ECS's only value for them is -1/-1, so a missing
            // PortRange means that. TCP/UDP must say which ports.
            None if !protocol.has_ports() => PortRange::Any,
            None => return Err(Error::missing_parameter(&self.name("PortRange"))),
            Some(text) => {
                self.port_range_for(protocol, text, "PortRange", "InvalidPortRange.Malformed")?
            }
        };
        let source_ports = match self.source_port_range.as_deref() {
            None => None,
            Some(text) => Some(self.port_range_for(
                protocol,
                text,
                "SourcePortRange",
                "InvalidSourcePortRange.Malformed",
            )?),
        };

        // The far side: the source of ingress traffic, the destination of egress traffic. The
        // other CIDR parameter, if given, narrows the local side.
        let (peer_cidr, peer_group, local_cidr, peer_cidr_param, local_param, group_param) =
            match direction {
                Direction::Ingress => (
                    &self.source_cidr_ip,
                    &self.source_group_id,
                    &self.dest_cidr_ip,
                    "SourceCidrIp",
                    "DestCidrIp",
                    "SourceGroupId",
                ),
                Direction::Egress => (
                    &self.dest_cidr_ip,
                    &self.dest_group_id,
                    &self.source_cidr_ip,
                    "DestCidrIp",
                    "SourceCidrIp",
                    "DestGroupId",
                ),
            };
        // As ECS documents: when both a CIDR and a group are given, the CIDR applies.
        let peer = match (peer_cidr.as_deref(), peer_group.as_deref()) {
            (Some(cidr), _) => Peer::Cidr(self.cidr(peer_cidr_param, cidr)?),
            (None, Some(group)) => Peer::Group(group.trim().to_string()),
            (None, None) => {
                return Err(Error::bad_request(
                    "MissingParameter",
                    format!(
                        "The input parameter \"{}\" or \"{}\" that is mandatory for processing this request is not supplied.",
                        self.name(peer_cidr_param),
                        self.name(group_param)
                    ),
                ))
            }
        };
        let local = match local_cidr.as_deref() {
            Some(cidr) => Some(self.cidr(local_param, cidr)?),
            None => None,
        };

        let policy = match self.policy.as_deref() {
            None => Policy::Accept,
            Some(text) => Policy::parse(text).ok_or_else(|| {
                Error::bad_request(
                    "InvalidPolicy.Malformed",
                    format!(
                        "The specified parameter \"{}\" is not valid: {text:?} is not accept or drop.",
                        self.name("Policy")
                    ),
                )
            })?,
        };

        let priority = match self.priority.as_deref() {
            None => MIN_PRIORITY,
            Some(text) => {
                let value = text.trim().parse::<i64>().map_err(|_| {
                    Error::bad_request(
                        "InvalidPriority.Malformed",
                        format!(
                            "The specified parameter \"{}\" is not valid: {text:?} is not an integer.",
                            self.name("Priority")
                        ),
                    )
                })?;
                if !(MIN_PRIORITY..=MAX_PRIORITY).contains(&value) {
                    return Err(Error::bad_request(
                        "InvalidPriority.ValueNotSupported",
                        format!(
                            "The specified parameter \"{}\" is not valid: {value} is outside {MIN_PRIORITY} to {MAX_PRIORITY}.",
                            self.name("Priority")
                        ),
                    ));
                }
                value
            }
        };

        let nic_type = match self.nic_type.as_deref() {
            None => NicType::Intranet,
            Some(text) => NicType::parse(text).ok_or_else(|| {
                Error::bad_request(
                    "InvalidNicType.ValueNotSupported",
                    format!(
                        "The specified parameter \"{}\" is not valid: {text:?} is not intranet or internet.",
                        self.name("NicType")
                    ),
                )
            })?,
        };
        if nic_type == NicType::Internet && matches!(peer, Peer::Group(_)) {
            return Err(Error::bad_request(
                "InvalidNicType.ValueNotSupported",
                format!(
                    "The specified parameter \"{}\" must be intranet when the rule's peer is a security group.",
                    self.name("NicType")
                ),
            ));
        }

        let description = self.description.clone().unwrap_or_default();
        if description.chars().count() > 512
            || description.starts_with("http://")
            || description.starts_with("https://")
        {
            return Err(Error::bad_request(
                "InvalidDescription.Malformed",
                format!(
                    "The specified parameter \"{}\" is not valid: at most 512 characters, not starting with http:// or https://.",
                    self.name("Description")
                ),
            ));
        }

        Ok(Rule {
            direction,
            protocol,
            ports,
            source_ports,
            peer,
            local,
            policy,
            priority: priority as u8,
            nic_type,
            description,
        })
    }

    fn port_range_for(
        &self,
        protocol: Protocol,
        text: &str,
        param: &str,
        code: &str,
    ) -> Result<PortRange> {
        let range = PortRange::parse(text);
        match (protocol.has_ports(), range) {
            (true, Some(r @ PortRange::Ports { .. })) => Ok(r),
            (false, Some(PortRange::Any)) => Ok(PortRange::Any),
            _ => Err(Error::bad_request(
                code,
                format!(
                    "The specified parameter \"{}\" is not valid: {text:?}; {} takes {}.",
                    self.name(param),
                    protocol.as_str(),
                    if protocol.has_ports() {
                        "start/end with 1 <= start <= end <= 65535"
                    } else {
                        "-1/-1"
                    }
                ),
            )),
        }
    }

    fn cidr(&self, param: &str, text: &str) -> Result<Ipv4Net> {
        Ipv4Net::parse(text).ok_or_else(|| {
            Error::bad_request(
                format!("Invalid{param}.Malformed"),
                format!(
                    "The specified parameter \"{}\" is not valid: {text:?} is not an IPv4 CIDR block (a.b.c.d/n) or address.",
                    self.name(param)
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(protocol: &str, ports: Option<&str>, cidr: Option<&str>) -> RuleInput {
        RuleInput {
            ip_protocol: Some(protocol.into()),
            port_range: ports.map(Into::into),
            source_cidr_ip: cidr.map(Into::into),
            ..Default::default()
        }
    }

    fn code(r: Result<Rule>) -> String {
        r.unwrap_err().code
    }

    #[test]
    fn protocols_normalize_case() {
        let r = input("Tcp", Some("22/22"), Some("10.0.0.0/8"))
            .parse(Direction::Ingress)
            .unwrap();
        assert_eq!(r.protocol, Protocol::Tcp);
        assert_eq!(r.protocol.as_str(), "TCP");
        assert_eq!(r.ports, PortRange::Ports { start: 22, end: 22 });
        assert_eq!(r.policy, Policy::Accept);
        assert_eq!(r.priority, 1);
        assert_eq!(r.nic_type, NicType::Intranet);
        assert_eq!(r.peer, Peer::Cidr(Ipv4Net::parse("10.0.0.0/8").unwrap()));
        assert_eq!(
            code(input("sctp", Some("1/2"), Some("1.2.3.4")).parse(Direction::Ingress)),
            "InvalidIpProtocol.Malformed"
        );
    }

    #[test]
    fn port_ranges() {
        assert_eq!(PortRange::parse("-1/-1"), Some(PortRange::Any));
        assert_eq!(
            PortRange::parse("1/65535"),
            Some(PortRange::Ports {
                start: 1,
                end: 65535
            })
        );
        for bad in [
            "0/10", "10/5", "1/65536", "22", "a/b", "-1/22", "", "22/22/22",
        ] {
            assert_eq!(PortRange::parse(bad), None, "{bad}");
        }
        // TCP needs real ports; ICMP/GRE/ALL only -1/-1 (and default to it).
        let bad = input("tcp", Some("-1/-1"), Some("0.0.0.0/0")).parse(Direction::Ingress);
        assert_eq!(code(bad), "InvalidPortRange.Malformed");
        let bad = input("icmp", Some("22/22"), Some("0.0.0.0/0")).parse(Direction::Ingress);
        assert_eq!(code(bad), "InvalidPortRange.Malformed");
        let r = input("all", None, Some("0.0.0.0/0"))
            .parse(Direction::Ingress)
            .unwrap();
        assert_eq!(r.ports, PortRange::Any);
        let missing = input("udp", None, Some("0.0.0.0/0")).parse(Direction::Ingress);
        assert_eq!(code(missing), "MissingParameter");
    }

    #[test]
    fn cidrs() {
        assert_eq!(Ipv4Net::parse("1.2.3.4").unwrap().to_string(), "1.2.3.4/32");
        assert_eq!(
            Ipv4Net::parse("10.1.2.3/8").unwrap().network(),
            Ipv4Addr::new(10, 0, 0, 0)
        );
        assert_eq!(
            Ipv4Net::parse("0.0.0.0/0").unwrap().network(),
            Ipv4Addr::new(0, 0, 0, 0)
        );
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "300.1.1.1",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "::/0",
            "x",
        ] {
            assert_eq!(Ipv4Net::parse(bad), None, "{bad}");
        }
        let bad = input("tcp", Some("22/22"), Some("10.0.0.0/33")).parse(Direction::Ingress);
        assert_eq!(code(bad), "InvalidSourceCidrIp.Malformed");
        let mut egress = input("tcp", Some("22/22"), None);
        egress.dest_cidr_ip = Some("nope".into());
        assert_eq!(
            code(egress.parse(Direction::Egress)),
            "InvalidDestCidrIp.Malformed"
        );
    }

    #[test]
    fn peers() {
        let none = input("tcp", Some("22/22"), None).parse(Direction::Ingress);
        assert_eq!(code(none), "MissingParameter");
        let mut g = input("tcp", Some("22/22"), None);
        g.source_group_id = Some("sg-abc".into());
        assert_eq!(
            g.parse(Direction::Ingress).unwrap().peer,
            Peer::Group("sg-abc".into())
        );
        // Egress looks at DestGroupId, not SourceGroupId.
        assert_eq!(code(g.parse(Direction::Egress)), "MissingParameter");
        g.dest_group_id = Some("sg-def".into());
        assert_eq!(
            g.parse(Direction::Egress).unwrap().peer,
            Peer::Group("sg-def".into())
        );
        g.nic_type = Some("internet".into());
        assert_eq!(
            code(g.parse(Direction::Egress)),
            "InvalidNicType.ValueNotSupported"
        );
    }

    #[test]
    fn policy_priority_and_identity() {
        let mut i = input("gre", Some("-1/-1"), Some("1.2.3.4/32"));
        i.policy = Some("DROP".into());
        i.priority = Some("100".into());
        let r = i.parse(Direction::Ingress).unwrap();
        assert_eq!((r.policy, r.priority), (Policy::Drop, 100));
        i.priority = Some("101".into());
        assert_eq!(
            code(i.parse(Direction::Ingress)),
            "InvalidPriority.ValueNotSupported"
        );
        i.priority = Some("high".into());
        assert_eq!(
            code(i.parse(Direction::Ingress)),
            "InvalidPriority.Malformed"
        );
        i.priority = None;
        i.policy = Some("reject".into());
        assert_eq!(code(i.parse(Direction::Ingress)), "InvalidPolicy.Malformed");

        // Same rule written differently has one identity; the description does not count.
        let a = input("tcp", Some("80/80"), Some("1.2.3.4"))
            .parse(Direction::Ingress)
            .unwrap();
        let mut b = input("TCP", Some("80/80"), Some("1.2.3.4/32"));
        b.description = Some("web".into());
        b.policy = Some("Accept".into());
        let b = b.parse(Direction::Ingress).unwrap();
        assert_eq!(a.identity(), b.identity());
        let c = input("tcp", Some("80/81"), Some("1.2.3.4"))
            .parse(Direction::Ingress)
            .unwrap();
        assert_ne!(a.identity(), c.identity());
        let e = input("tcp", Some("80/80"), Some("1.2.3.4")).parse(Direction::Egress);
        assert!(e.is_err(), "egress needs DestCidrIp");
    }

    #[test]
    fn named_errors_in_list_form() {
        let mut i = input("tcp", Some("1/2/3"), Some("0.0.0.0/0"));
        i.prefix = "Permissions.2.".into();
        let e = i.parse(Direction::Ingress).unwrap_err();
        assert!(e.message.contains("Permissions.2.PortRange"), "{e}");
    }
}
