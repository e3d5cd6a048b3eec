//! The billing parameters: charge types, bandwidth, prepaid period and renewal, spot.

use super::*;

/// The billing parameters after their rules: what gets recorded.
#[derive(Debug, Clone, Default)]
pub(super) struct BillingPlan {
    pub(super) instance_charge_type: String,
    pub(super) internet_charge_type: String,
    pub(super) bandwidth_in: i64,
    pub(super) bandwidth_out: i64,
    pub(super) period: i64,
    pub(super) period_unit: String,
    pub(super) auto_renew: bool,
    pub(super) auto_renew_period: i64,
    pub(super) spot_strategy: String,
    pub(super) spot_price_limit: String,
    pub(super) spot_duration: i64,
    pub(super) spot_interruption_behavior: String,
    pub(super) io_optimized: String,
    pub(super) credit_specification: String,
    pub(super) security_enhancement: String,
    pub(super) resource_group_id: String,
}

/// The billing rules; the policy picks the prepaid periods (ECS 1, 2, 3, 6, 12 months; CVM also
/// 4–11, 24 and 36) and whether deletion protection excludes prepaid and spot (ECS only).
pub(super) fn check_billing(
    b: &Billing,
    deletion_protection: bool,
    policy: &Policy,
) -> Result<BillingPlan> {
    let ecs = policy.ecs_billing;
    let charge = one_of(
        "InstanceChargeType",
        b.instance_charge_type.as_deref(),
        &["PrePaid", "PostPaid"],
        "InvalidInstanceChargeType.NotFound",
        404,
        "PostPaid",
    )?;
    let internet = one_of(
        "InternetChargeType",
        b.internet_charge_type.as_deref(),
        &["PayByBandwidth", "PayByTraffic"],
        "InvalidInternetChargeType.ValueNotSupported",
        400,
        "PayByTraffic",
    )?;
    let out = b.internet_max_bandwidth_out.unwrap_or(0);
    if !(0..=100).contains(&out) {
        return Err(Error::bad_request("InvalidInternetMaxBandwidthOut.Malformed", format!("The specified parameter InternetMaxBandwidthOut {out} is not valid: 0 to 100 Mbit/s.")));
    }
    let in_max = if out <= 10 { 10 } else { out };
    let bw_in = b.internet_max_bandwidth_in.unwrap_or(in_max);
    if !(1..=in_max).contains(&bw_in) {
        return Err(Error::bad_request("InvalidInternetMaxBandwidthIn.Malformed", format!("The specified parameter InternetMaxBandwidthIn {bw_in} is not valid: 1 to {in_max} Mbit/s with InternetMaxBandwidthOut {out}.")));
    }
    let unit = one_of(
        "PeriodUnit",
        b.period_unit.as_deref(),
        &["Month"],
        "InvalidPeriodUnit.ValueNotSupported",
        400,
        "Month",
    )?;
    let months = [1, 2, 3, 6, 12];
    let period = match (charge.as_str(), b.period) {
        ("PrePaid", None) => return Err(Error::bad_request("MissingParamter", "The specified parameter \"Period\" is not null: PrePaid instances need a Period (1, 2, 3, 6 or 12 months).")),
        ("PrePaid", Some(p)) if ecs && !months.contains(&p) => return Err(Error::bad_request("InvalidPeriod", format!("The specified period {p} is not valid: use 1, 2, 3, 6 or 12 (months)."))),
        (_, Some(p)) => p,
        (_, None) => 0,
    };
    let auto_renew = b.auto_renew.unwrap_or(false);
    let renew_period = match b.auto_renew_period {
        Some(p) if !months.contains(&p) => {
            return Err(Error::bad_request(
                "InvalidAutoRenewPeriod.ValueNotSupported",
                format!("The specified autoRenewPeriod {p} is not valid: use 1, 2, 3, 6 or 12."),
            ))
        }
        Some(p) => p,
        None if auto_renew && charge == "PrePaid" => 1,
        None => 0,
    };
    let spot = one_of(
        "SpotStrategy",
        b.spot_strategy.as_deref(),
        &["NoSpot", "SpotWithPriceLimit", "SpotAsPriceGo"],
        "InvalidSpotStrategy",
        400,
        "NoSpot",
    )?;
    if spot != "NoSpot" && charge == "PrePaid" {
        return Err(Error::bad_request("InvalidSpotPrepaid", "The specified Spot type is not support PrePay Instance: SpotStrategy needs InstanceChargeType=PostPaid."));
    }
    let price = match &b.spot_price_limit {
        None => String::new(),
        Some(p) => {
            let ok = p.parse::<f64>().is_ok_and(|v| v.is_finite() && v > 0.0)
                && p.split_once('.').is_none_or(|(_, f)| f.len() <= 3);
            if !ok {
                return Err(Error::bad_request("InvalidSpotPriceLimit", format!("The specified SpotPriceLimit {p:?} is not valid: a positive price with at most 3 decimals.")));
            }
            p.clone()
        }
    };
    let duration = b.spot_duration.unwrap_or(1);
    if ![0, 1].contains(&duration) {
        return Err(Error::bad_request(
            "InvalidSpotDuration",
            format!("The specified SpotDuration {duration} is not valid: 0 or 1."),
        ));
    }
    let interruption = one_of(
        "SpotInterruptionBehavior",
        b.spot_interruption_behavior.as_deref(),
        &["Terminate", "Stop"],
        "InvalidSpotInterruptionBehavior",
        400,
        "Terminate",
    )?;
    if ecs && deletion_protection && (charge == "PrePaid" || spot != "NoSpot") {
        return Err(Error::forbidden("InvalidChargeType.ValueNotSupported", "Deletion protection is only valid for postPaid instance, not for prePaid or spot instance."));
    }
    let io = one_of(
        "IoOptimized",
        b.io_optimized.as_deref(),
        &["none", "optimized"],
        "InvalidIoOptimizedValue.ValueNotSupported",
        400,
        "optimized",
    )?;
    if io == "none" {
        return Err(Error::forbidden("IoOptimized.NotSupported", "The specified instance type must be an I/O optimized instance: every hearth instance type is (IoOptimized=optimized)."));
    }
    let credit = one_of(
        "CreditSpecification",
        b.credit_specification.as_deref(),
        &["Standard", "Unlimited"],
        "InvalidParameter.CreditSpecification",
        400,
        "",
    )?;
    let hardening = one_of(
        "SecurityEnhancementStrategy",
        b.security_enhancement_strategy.as_deref(),
        &["Active", "Deactive"],
        "InvalidParameter",
        400,
        "",
    )?;
    one_of(
        "Affinity",
        b.affinity.as_deref(),
        &["default", "host"],
        "InvalidParameter.Affinity",
        400,
        "default",
    )?;
    let tenancy = one_of(
        "Tenancy",
        b.tenancy.as_deref(),
        &["default", "host"],
        "InvalidParameter.Tenancy",
        400,
        "default",
    )?;
    if tenancy == "host" {
        return Err(Error::bad_request("NoAvaliableDedicatedHost", "There's no enough resource on the specified dedicated host: this host offers no dedicated hosts (Tenancy=host)."));
    }
    if let Some(n) = b.deployment_set_group_no {
        if !(1..=7).contains(&n) {
            return Err(Error::invalid_parameter("DeploymentSetGroupNo", "1 to 7"));
        }
    }
    if let Some(n) = b.storage_set_partition_number {
        if n < 2 {
            return Err(Error::forbidden(
                "InvalidParameter.StorageSetPartitionNumber",
                "Specified parameter StorageSetPartitionNumber is not valid: at least 2.",
            ));
        }
    }
    let criteria = one_of(
        "PrivatePoolOptions.MatchCriteria",
        b.private_pool_match_criteria.as_deref(),
        &["Open", "Target", "None"],
        "InvalidParameter",
        400,
        "None",
    )?;
    if criteria == "Target" {
        return Err(Error::bad_request("MissingParameter.PrivatePoolOptionsId", "The specified PrivatePoolOptions.Id should not be null: Target mode needs a private pool, and this host has none."));
    }
    if b.hibernation_configured == Some(true) {
        return Err(Error::bad_request("HibernationConfigured.InstanceTypeNotSupport", "The specified instance type is not support hibernation (HibernationOptions.Configured)."));
    }
    if let Some(ip) = &b.inner_ip_address {
        if ip.parse::<Ipv4Addr>().is_err() {
            return Err(Error::bad_request(
                "InvalidInnerIpAddress.Malformed",
                format!("The specified parameter \"InnerIpAddress\" {ip:?} is not valid."),
            ));
        }
        return Err(Error::bad_request("InvalidInnerIpAddress.Unusable", "The specified InnerIpAddress is already used or not found in usable ip range: InnerIpAddress is for classic-network instances, which this host does not offer; use VSwitchId and PrivateIpAddress."));
    }
    if let Some(v) = &b.vlan_id {
        return Err(Error::bad_request("OperationDenied", format!("The specified parameter \"VlanId\" {v:?} is not valid: this host offers no VLANs (classic network).")));
    }
    if let Some(n) = &b.node_controller_id {
        return Err(Error::bad_request(
            "InvalidNodeControllerId.Malformed",
            format!("The specified parameter \"NodeControllerId\" {n:?} is not valid."),
        ));
    }
    Ok(BillingPlan {
        instance_charge_type: charge,
        internet_charge_type: internet,
        bandwidth_in: bw_in,
        bandwidth_out: out,
        period,
        period_unit: unit,
        auto_renew,
        auto_renew_period: renew_period,
        spot_strategy: spot,
        spot_price_limit: price,
        spot_duration: duration,
        spot_interruption_behavior: interruption,
        io_optimized: io,
        credit_specification: credit,
        security_enhancement: hardening,
        resource_group_id: b.resource_group_id.clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CVM's billing: any Period, DeletionProtection on any charge type.
    const ANY_PERIOD: Policy = Policy {
        ecs_billing: false,
        ..Policy::ECS
    };

    #[test]
    fn billing_rules() {
        let ok = check_billing(&Billing::default(), true, &Policy::ECS).unwrap();
        assert_eq!(
            (ok.instance_charge_type.as_str(), ok.bandwidth_in),
            ("PostPaid", 10)
        );
        let code = |b: Billing, p: bool| check_billing(&b, p, &Policy::ECS).unwrap_err().code;
        assert_eq!(
            code(
                Billing {
                    instance_charge_type: Some("Free".into()),
                    ..Default::default()
                },
                false
            ),
            "InvalidInstanceChargeType.NotFound"
        );
        assert_eq!(
            code(
                Billing {
                    instance_charge_type: Some("PrePaid".into()),
                    ..Default::default()
                },
                false
            ),
            "MissingParamter"
        );
        assert_eq!(
            code(
                Billing {
                    instance_charge_type: Some("PrePaid".into()),
                    period: Some(5),
                    ..Default::default()
                },
                false
            ),
            "InvalidPeriod"
        );
        assert_eq!(
            code(
                Billing {
                    instance_charge_type: Some("PrePaid".into()),
                    period: Some(1),
                    ..Default::default()
                },
                true
            ),
            "InvalidChargeType.ValueNotSupported"
        );
        assert_eq!(
            code(
                Billing {
                    internet_max_bandwidth_out: Some(101),
                    ..Default::default()
                },
                false
            ),
            "InvalidInternetMaxBandwidthOut.Malformed"
        );
        assert_eq!(
            code(
                Billing {
                    spot_price_limit: Some("0.1234".into()),
                    ..Default::default()
                },
                false
            ),
            "InvalidSpotPriceLimit"
        );
        assert_eq!(
            code(
                Billing {
                    spot_strategy: Some("Cheap".into()),
                    ..Default::default()
                },
                false
            ),
            "InvalidSpotStrategy"
        );
        // CVM: its own prepaid periods (checked by the CVM rules), deletion protection for any
        // charge type.
        let prepaid = |period| Billing {
            instance_charge_type: Some("PrePaid".into()),
            period: Some(period),
            ..Default::default()
        };
        assert!(check_billing(&prepaid(36), true, &ANY_PERIOD).is_ok());
        assert_eq!(
            check_billing(&prepaid(36), false, &Policy::ECS)
                .unwrap_err()
                .code,
            "InvalidPeriod"
        );
    }
}
