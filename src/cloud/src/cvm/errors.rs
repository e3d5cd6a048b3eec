//! The shared rules speak ECS error codes; CVM clients match on CVM's (seed 004 and Tencent
//! Cloud's common codes). [`translate`] maps one to the other at the boundary, keeping the
//! message (it names the parameter and what is allowed). Codes already in CVM's form (its
//! common classes such as `InvalidParameterValue.*`, and the seed's own codes) pass unchanged;
//! any other code becomes the common code for its status: InvalidParameterValue (400),
//! UnsupportedOperation (403), ResourceNotFound (404), InternalError (500).

use crate::Error;

/// The Tencent service a request went to: some ECS codes mean different things in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Cvm,
    Vpc,
}

/// Codes CVM has as they are (both dialects' and seed 004's own).
const SAME: &[&str] = &[
    "InvalidParameterCombination",
    "InvalidImageId.NotFound",
    "InvalidInstanceId.NotFound",
    "InvalidSecurityGroupId.NotFound",
    "InvalidPeriod",
    "InvalidPassword",
    "InvalidClientToken.TooLong",
    "InvalidInstanceName.TooLong",
    "InvalidInstanceType.Malformed",
    "InvalidZone.MismatchRegion",
    "InvalidHostId.NotFound",
    "InvalidProjectId.NotFound",
    "VpcIpIsUsed",
    "VpcAddrNotInSubNet",
];

/// Tencent Cloud's common error classes: a code of one of these forms is CVM's already.
const CLASSES: &[&str] = &[
    "AuthFailure",
    "FailedOperation",
    "InternalError",
    "InvalidParameter",
    "InvalidParameterValue",
    "LimitExceeded",
    "MissingParameter",
    "ResourceInsufficient",
    "ResourceNotFound",
    "ResourceUnavailable",
    "UnknownParameter",
    "UnsupportedOperation",
    "UnsupportedRegion",
];

fn cvm_code(service: Service, ecs: &str) -> Option<&'static str> {
    Some(match (service, ecs) {
        (_, "InvalidRegionId.NotFound") => "UnsupportedRegion",
        (_, "InvalidTagKey.Malformed") => "FailedOperation.IllegalTagKey",
        (_, "InvalidTagValue.Malformed") => "FailedOperation.IllegalTagValue",
        (_, "Duplicate.TagKey") => "InvalidParameterValue.DuplicateTags",
        (_, "IdempotentParameterMismatch") => "InvalidParameterValue",
        (Service::Cvm, "InvalidZoneId.NotFound") => "InvalidZone.MismatchRegion",
        (Service::Cvm, "InvalidInstanceType.ValueNotSupported") => {
            "InvalidParameterValue.InstanceTypeNotFound"
        }
        (Service::Cvm, "OperationDenied.ImageNotValid") => {
            "InvalidParameterValue.InvalidImageState"
        }
        (
            Service::Cvm,
            "InvalidSystemDiskSize.LessThanMinSize"
            | "InvalidSystemDiskSize.LessThanImageSize"
            | "InvalidSystemDiskSize.MoreThanMaxSize"
            | "InvalidDataDiskSize.ValueNotSupported"
            | "OperationDenied.PerformanceLevelNotMatch",
        ) => "InvalidParameterValue.Range",
        (
            Service::Cvm,
            "InvalidSystemDiskCategory.ValueNotSupported"
            | "InvalidDataDiskCategory.ValueNotSupported"
            | "InvalidDiskCategory.NotSupported"
            | "InvalidDiskCategory.Mismatch"
            | "DeleteWithInstance.Conflict",
        ) => "UnsupportedOperation.InvalidDisk",
        (Service::Cvm, "InstanceDiskNumber.LimitExceed" | "InstanceDiskCategoryLimitExceed") => {
            "InvalidParameterValue.LimitExceeded"
        }
        (Service::Cvm, "InvalidHostName.Malformed") => "InvalidParameterValue.IllegalHostName",
        (Service::Cvm, "InvalidPassword.Malformed") => "InvalidPassword",
        (Service::Cvm, "DependencyViolation.WindowsInstance") => {
            "UnsupportedOperation.KeyPairUnsupportedWindows"
        }
        (Service::Cvm, "InvalidUserData.Base64FormatInvalid") => {
            "InvalidParameterValue.InvalidUserDataFormat"
        }
        (Service::Cvm, "InvalidUserData.SizeExceeded") => "InvalidParameterValue.TooLarge",
        (Service::Cvm, "InvalidVSwitchId.NotFound") => "InvalidParameterValue.SubnetNotExist",
        (Service::Cvm, "InvalidVpcId.NotFound") => "InvalidParameterValue.VpcIdNotExist",
        (Service::Cvm, "InvalidParameter.Mismatch") => "InvalidParameterCombination",
        (Service::Cvm, "InvalidPrivateIpAddress.Malformed") => "InvalidParameter.InvalidIpFormat",
        (Service::Cvm, "InvalidPrivateIpAddress") => "VpcAddrNotInSubNet",
        (Service::Cvm, "InvalidPrivateIpAddress.Duplicated") => "VpcIpIsUsed",
        (Service::Cvm, "InvalidKeyPairName.NotFound") => "InvalidParameterValue.KeyPairNotFound",
        (Service::Cvm, "OperationDenied.NoStock") => "ResourceInsufficient.SpecifiedInstanceType",
        (Service::Cvm, "QuotaExceeded.PrivateIpAddress") => {
            "FailedOperation.NoAvailableIpAddressCountInSubnet"
        }
        (Service::Cvm, "InvalidChargeType.ValueNotSupported") => "InvalidParameterCombination",
        (Service::Cvm, "InvalidOperation.DeletionProtection") => {
            "UnsupportedOperation.InstancesProtected"
        }
        (Service::Vpc, "InvalidCidrBlock.Malformed") => "InvalidParameterValue.Malformed",
        (Service::Vpc, "InvalidCidrBlock.Overlapped") => "InvalidParameterValue.SubnetConflict",
        (Service::Vpc, "InvalidVpcId.NotFound") => "ResourceNotFound",
        (Service::Vpc, "InvalidZoneId.NotFound") => "InvalidParameterValue.Range",
        (Service::Vpc, "QuotaExceeded.Vpc" | "QuotaExceeded.VSwitch") => "LimitExceeded",
        _ => return None,
    })
}

/// The CVM form of an error from the shared rules.
pub fn translate(service: Service, e: Error) -> Error {
    if let Some(code) = cvm_code(service, &e.code) {
        return Error {
            code: code.to_string(),
            ..e
        };
    }
    let class = e.code.split('.').next().unwrap_or("");
    if SAME.contains(&e.code.as_str()) || CLASSES.contains(&class) {
        return e;
    }
    let code = match e.status {
        404 => "ResourceNotFound",
        403 => "UnsupportedOperation",
        500.. => "InternalError",
        _ => "InvalidParameterValue",
    };
    Error {
        code: code.to_string(),
        ..e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let t = |s, code: &str, status| translate(s, Error::new(status, code, "m")).code;
        assert_eq!(
            t(Service::Cvm, "InvalidVSwitchId.NotFound", 404),
            "InvalidParameterValue.SubnetNotExist"
        );
        assert_eq!(
            t(Service::Vpc, "InvalidVpcId.NotFound", 404),
            "ResourceNotFound"
        );
        assert_eq!(
            t(Service::Cvm, "InvalidVpcId.NotFound", 404),
            "InvalidParameterValue.VpcIdNotExist"
        );
        assert_eq!(t(Service::Cvm, "MissingParameter", 400), "MissingParameter");
        assert_eq!(
            t(Service::Cvm, "SomethingElse", 403),
            "UnsupportedOperation"
        );
        assert_eq!(
            t(Service::Cvm, "SomethingElse", 400),
            "InvalidParameterValue"
        );
        assert_eq!(t(Service::Cvm, "SomethingElse", 500), "InternalError");
        assert_eq!(
            t(Service::Vpc, "InvalidParameterValue.TooLong", 400),
            "InvalidParameterValue.TooLong"
        );
        assert_eq!(t(Service::Cvm, "VpcIpIsUsed", 400), "VpcIpIsUsed");
        assert_eq!(
            t(Service::Cvm, "InvalidParameter.Mismatch", 400),
            "InvalidParameterCombination"
        );
        let e = translate(
            Service::Cvm,
            Error::bad_request("InvalidHostName.Malformed", "why"),
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("InvalidParameterValue.IllegalHostName", "why")
        );
    }
}
