//! The launch's network: the VSwitch and its block, free private addresses, unique MACs.

use super::*;

/// The VSwitch, its block, and the address given (checked against the block and the store).
pub(super) struct Network {
    pub(super) vswitch: hearth_store::vswitches::VSwitch,
    pub(super) block: Cidr,
}

pub(super) async fn check_network(
    conn: &mut Conn,
    req: &Launch,
    plan: &mut Plan,
) -> Result<Network> {
    let vswitch_id = req
        .vswitch_id
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("VSwitchId"))?;
    let vswitch = vswitches::get(conn, vswitch_id).await?.ok_or_else(|| {
        Error::not_found(
            "InvalidVSwitchId.NotFound",
            format!("Specified virtual switch {vswitch_id:?} does not exist."),
        )
    })?;
    if plan.zone_id.is_empty() {
        plan.zone_id = vswitch.zone_id.clone();
    } else if plan.zone_id != vswitch.zone_id {
        return Err(Error::bad_request("InvalidParameter.Mismatch", format!("Specified virtual switch {vswitch_id} is not in the specified zone {}: it is in {}.", plan.zone_id, vswitch.zone_id)));
    }
    for g in &plan.groups {
        let group = membership::group(conn, &req.region_id, g).await?;
        if group.vpc_id != vswitch.vpc_id {
            return Err(Error::bad_request("InvalidParameter.Mismatch", format!("Specified security group {g} and virtual switch {vswitch_id} are not in the same VPC ({} and {}).", if group.vpc_id.is_empty() { "classic" } else { &group.vpc_id }, vswitch.vpc_id)));
        }
    }
    let block = Cidr::parse(&vswitch.cidr_block).map_err(Error::internal)?;
    let mut seen = std::collections::HashSet::new();
    for ip in &req.private_ips {
        if !seen.insert(ip) {
            return Err(Error::bad_request(
                "InvalidPrivateIpAddress.Duplicated",
                format!("Specified private IP address {ip} is duplicated: it is given twice."),
            ));
        }
        let addr: Ipv4Addr = ip.parse().map_err(|_| {
            Error::bad_request(
                "InvalidPrivateIpAddress.Malformed",
                format!("Specified private IP address {ip:?} is invalid."),
            )
        })?;
        let usable = cidr::usable(&block);
        let inside =
            usable.is_some_and(|(a, b)| (u32::from(a)..=u32::from(b)).contains(&u32::from(addr)));
        if !inside {
            let why = if block.contains_addr(u32::from(addr)) {
                "it is one of the VSwitch's reserved addresses (network, gateway and the last three)"
            } else {
                "it is not in the CIDR block of the virtual switch"
            };
            return Err(Error::bad_request("InvalidPrivateIpAddress", format!("Specified private IP address {addr} cannot be used in {vswitch_id} ({}): {why}.", vswitch.cidr_block)));
        }
        if store::addresses_in_vswitch(conn, vswitch_id)
            .await?
            .iter()
            .any(|a| a == ip)
        {
            return Err(Error::bad_request("InvalidPrivateIpAddress.Duplicated", format!("Specified private IP address {addr} is duplicated: another instance in {vswitch_id} has it.")));
        }
    }
    Ok(Network { vswitch, block })
}

/// The lowest free usable addresses of the block, `count` of them (fewer if it runs out).
pub(super) fn free_addresses(block: &Cidr, taken: &[String], count: usize) -> Vec<Ipv4Addr> {
    let Some((first, last)) = cidr::usable(block) else {
        return Vec::new();
    };
    let taken: std::collections::HashSet<&str> = taken.iter().map(String::as_str).collect();
    (u32::from(first)..=u32::from(last))
        .map(Ipv4Addr::from)
        .filter(|a| !taken.contains(a.to_string().as_str()))
        .take(count)
        .collect()
}

pub(super) async fn unique_mac(conn: &mut Conn, id: &str) -> Result<String> {
    for attempt in 0..64 {
        let mac = rules::mac_for(id, attempt);
        if !store::mac_in_use(conn, &mac).await? {
            return Ok(mac);
        }
    }
    Err(Error::internal("no free MAC address after 64 attempts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_skip_taken_and_reserved() {
        let block = Cidr::parse("192.168.0.0/29").unwrap();
        // /29: .0 network, .1 gateway, .5-.7 reserved: .2, .3, .4 usable.
        let got = free_addresses(&block, &["192.168.0.3".into()], 5);
        assert_eq!(
            got,
            [Ipv4Addr::new(192, 168, 0, 2), Ipv4Addr::new(192, 168, 0, 4)]
        );
    }
}
