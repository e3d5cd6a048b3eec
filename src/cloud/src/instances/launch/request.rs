//! What a CreateInstance or RunInstances asks for, as decoded from either API's parameters.

use super::*;

/// One disk as requested (`SystemDisk.*` or `DataDisk.N.*`), values as given.
#[derive(Debug, Clone, Default)]
pub struct DiskRequest {
    pub category: Option<String>,
    pub size: Option<i64>,
    pub performance_level: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub delete_with_instance: Option<bool>,
    pub device: Option<String>,
    pub encrypted: Option<bool>,
    pub bursting_enabled: Option<bool>,
    pub provisioned_iops: Option<i64>,
}

/// Billing and placement parameters: validated and recorded, none of them changes what runs.
#[derive(Debug, Clone, Default)]
pub struct Billing {
    pub instance_charge_type: Option<String>,
    pub internet_charge_type: Option<String>,
    pub internet_max_bandwidth_in: Option<i64>,
    pub internet_max_bandwidth_out: Option<i64>,
    pub period: Option<i64>,
    pub period_unit: Option<String>,
    pub auto_renew: Option<bool>,
    pub auto_renew_period: Option<i64>,
    pub spot_strategy: Option<String>,
    pub spot_price_limit: Option<String>,
    pub spot_duration: Option<i64>,
    pub spot_interruption_behavior: Option<String>,
    pub io_optimized: Option<String>,
    pub credit_specification: Option<String>,
    pub security_enhancement_strategy: Option<String>,
    pub resource_group_id: Option<String>,
    pub affinity: Option<String>,
    pub tenancy: Option<String>,
    pub deployment_set_group_no: Option<i64>,
    pub storage_set_partition_number: Option<i64>,
    pub private_pool_match_criteria: Option<String>,
    pub hibernation_configured: Option<bool>,
    pub inner_ip_address: Option<String>,
    pub vlan_id: Option<String>,
    pub node_controller_id: Option<String>,
}

/// Instance metadata options (`HttpEndpoint`, `HttpTokens`, `HttpPutResponseHopLimit`).
#[derive(Debug, Clone, Default)]
pub struct MetadataOptions {
    pub http_endpoint: Option<String>,
    pub http_tokens: Option<String>,
    pub http_put_response_hop_limit: Option<i64>,
    pub instance_metadata_tags: Option<String>,
}

pub use crate::client_token::Idempotency;

/// CreateInstance / RunInstances as decoded from the wire.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// RunInstances (start them, Amount, sequences) rather than CreateInstance.
    pub run: bool,
    pub region_id: String,
    pub zone_id: Option<String>,
    pub image_id: Option<String>,
    pub instance_type: Option<String>,
    pub security_group_id: Option<String>,
    pub security_group_ids: Vec<String>,
    pub vswitch_id: Option<String>,
    /// Private addresses, one per instance in order (ECS: PrivateIpAddress, for one instance;
    /// CVM: VirtualPrivateCloud.PrivateIpAddresses); empty to take free ones.
    pub private_ips: Vec<String>,
    pub instance_name: Option<String>,
    /// Names already made one per instance by the caller's dialect (CVM's `{R:x}` patterns),
    /// used instead of expanding `instance_name`; still checked by the shared name rule.
    pub instance_names: Vec<String>,
    /// The rules of the API the launch came through, where the APIs differ.
    pub policy: Policy,
    pub host_name: Option<String>,
    pub host_names: Vec<String>,
    pub unique_suffix: bool,
    pub description: Option<String>,
    pub password: Option<String>,
    pub password_inherit: bool,
    pub key_pair_name: Option<String>,
    pub user_data: Option<String>,
    pub system_disk: DiskRequest,
    pub data_disks: Vec<(u32, DiskRequest)>,
    pub amount: Option<i64>,
    pub min_amount: Option<i64>,
    pub auto_release_time: Option<String>,
    pub deletion_protection: bool,
    pub tags: Vec<Tag>,
    pub billing: Billing,
    pub metadata: MetadataOptions,
    /// (parameter, value) for parameters naming resource kinds hearth does not have.
    pub absent: Vec<(String, String)>,
    pub client_token: Option<Idempotency>,
    pub dry_run: bool,
}
