//! The Alibaba Cloud RPC dialect: ECS (2014-05-26) and VPC (2016-04-28) on one endpoint,
//! chosen by Version. Each area module lists its actions and handles them.

mod catalog;
mod instances;
mod key_pairs;
mod regions;
mod security_groups;
mod vpcs;

use std::future::Future;
use std::pin::Pin;

use hearth_cloud::{Cloud, Error, Result};
use serde_json::Value;

use crate::params::Params;

pub const ECS_VERSION: &str = "2014-05-26";
pub const VPC_VERSION: &str = "2016-04-28";

type Reply<'a> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

/// An area of the API: the actions it answers and the handler for them.
struct Area {
    actions: &'static [&'static str],
    call: for<'a> fn(&'a Cloud, &'a str, &'a Params) -> Reply<'a>,
}

/// Areas by product; adding an area is one line here.
fn areas(version: &str) -> Option<&'static [Area]> {
    static ECS: &[Area] = &[
        Area {
            actions: regions::ACTIONS,
            call: |c, a, p| Box::pin(regions::call(c, a, p)),
        },
        Area {
            actions: key_pairs::ACTIONS,
            call: |c, a, p| Box::pin(key_pairs::call(c, a, p)),
        },
        Area {
            actions: catalog::ACTIONS,
            call: |c, a, p| Box::pin(catalog::call(c, a, p)),
        },
        Area {
            actions: security_groups::ACTIONS,
            call: |c, a, p| Box::pin(security_groups::call(c, a, p)),
        },
        Area {
            actions: instances::ACTIONS,
            call: |c, a, p| Box::pin(instances::call(c, a, p)),
        },
    ];
    static VPC: &[Area] = &[
        Area {
            actions: regions::ACTIONS,
            call: |c, a, p| Box::pin(regions::call(c, a, p)),
        },
        Area {
            actions: vpcs::ACTIONS,
            call: |c, a, p| Box::pin(vpcs::call(c, a, p)),
        },
    ];
    match version {
        ECS_VERSION => Some(ECS),
        VPC_VERSION => Some(VPC),
        _ => None,
    }
}

pub async fn dispatch(
    cloud: &Cloud,
    version: &str,
    action: &str,
    params: &Params,
) -> Result<Value> {
    let areas = areas(version).ok_or_else(|| {
        Error::bad_request("InvalidVersion", format!("Specified parameter Version {version:?} is not valid: use {ECS_VERSION} (ECS) or {VPC_VERSION} (VPC)."))
    })?;
    let area = areas.iter().find(|a| a.actions.contains(&action)).ok_or_else(|| {
        Error::not_found("InvalidAction.NotFound", format!("Specified api {action:?} is not found in version {version}: check the Action parameter."))
    })?;
    (area.call)(cloud, action, params).await
}
