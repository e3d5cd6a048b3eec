//! Security groups and their rules as stored records. Validation lives in the cloud crate; this
//! module only reads and writes rows, and never issues one query per listed row.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::columns::{insert_sql, placeholders, qualified, select_list, Insert};
use crate::page::{tagged_page, Page, Tagged, TaggedQuery};
use crate::query::{execute, next_seq, Where};
use crate::row::record;
use crate::tags::Tag;
use crate::Conn;

pub const TAG_RESOURCE_TYPE: &str = "securitygroup";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub id: String,
    pub region_id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub group_type: String,
    pub resource_group_id: String,
    pub inner_access_policy: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRecord {
    pub id: String,
    pub security_group_id: String,
    pub direction: String,
    pub protocol: String,
    pub port_range: String,
    pub source_port_range: String,
    pub peer_cidr: String,
    pub peer_group_id: String,
    pub local_cidr: String,
    pub policy: String,
    pub priority: i64,
    pub nic_type: String,
    pub description: String,
    pub created_at: String,
    pub identity: String,
}

/// A rule with the name of its peer group (empty when the peer is a CIDR or the group is gone).
#[derive(Debug, Clone)]
pub struct RuleWithPeer {
    pub rule: RuleRecord,
    pub peer_group_name: String,
}

/// What DescribeSecurityGroups filters on; `None`/empty means "any".
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub region_id: String,
    pub vpc_id: Option<String>,
    pub ids: Option<Vec<String>>,
    pub name: Option<String>,
    pub group_type: Option<String>,
    pub resource_group_id: Option<String>,
    /// `Some(true)`: only groups in a VPC; `Some(false)`: only classic groups.
    pub in_vpc: Option<bool>,
    pub tags: Vec<Tag>,
}

impl GroupFilter {
    /// True when the filter keeps every group of the region.
    pub fn is_region_only(&self) -> bool {
        self.vpc_id.is_none()
            && self.ids.is_none()
            && self.name.is_none()
            && self.group_type.is_none()
            && self.resource_group_id.is_none()
            && self.in_vpc.is_none()
            && self.tags.is_empty()
    }
}

/// Per-group rule counts for a listing page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCounts {
    pub rules: i64,
    pub group_to_group: i64,
}

const GROUPS: &str = "security_groups";
const RULES: &str = "security_group_rules";

/// The columns of `security_groups`, in bind order.
const GROUP_COLUMNS: &str = "seq, id, region_id, name, description, vpc_id, group_type, resource_group_id, inner_access_policy, created_at";

fn group_from_row(r: &AnyRow) -> crate::Result<GroupRecord> {
    Ok(record!(r => GroupRecord {
        id, region_id, name, description, vpc_id, group_type, resource_group_id,
        inner_access_policy, created_at,
    }))
}

/// The columns of `security_group_rules`, in bind order (`seq` counts within the group).
const RULE_COLUMNS: &str = "seq, id, security_group_id, direction, protocol, port_range, source_port_range, peer_cidr, peer_group_id, local_cidr, policy, priority, nic_type, description, created_at, identity";

fn rule_from_row(r: &AnyRow) -> crate::Result<RuleRecord> {
    Ok(record!(r => RuleRecord {
        id, security_group_id, direction, protocol, port_range, source_port_range, peer_cidr,
        peer_group_id, local_cidr, policy, priority, nic_type, description, created_at, identity,
    }))
}

/// The rule columns as read through the alias `r` (rule queries join other tables).
fn rule_select() -> String {
    qualified("r", RULE_COLUMNS)
}

pub async fn insert_group(conn: &mut Conn, g: &GroupRecord) -> crate::Result<()> {
    let seq = next_seq(conn, GROUPS).await?;
    let sql = insert_sql(GROUPS, GROUP_COLUMNS);
    Insert::new(&sql, GROUP_COLUMNS)
        .bind(seq)
        .bind(&g.id)
        .bind(&g.region_id)
        .bind(&g.name)
        .bind(&g.description)
        .bind(&g.vpc_id)
        .bind(&g.group_type)
        .bind(&g.resource_group_id)
        .bind(&g.inner_access_policy)
        .bind(&g.created_at)
        .execute(conn)
        .await?;
    execute(conn, "INSERT INTO security_group_counts (region_id, n) VALUES ($1, 0) ON CONFLICT (region_id) DO NOTHING", &[&g.region_id]).await?;
    execute(
        conn,
        "UPDATE security_group_counts SET n = n + 1 WHERE region_id = $1",
        &[&g.region_id],
    )
    .await?;
    Ok(())
}

pub async fn get_group(
    conn: &mut Conn,
    region_id: &str,
    id: &str,
) -> crate::Result<Option<GroupRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM {GROUPS} WHERE id = $1 AND region_id = $2",
        select_list(GROUP_COLUMNS)
    ))
    .bind(id)
    .bind(region_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(group_from_row).transpose()
}

pub async fn update_group(
    conn: &mut Conn,
    id: &str,
    name: &str,
    description: &str,
) -> crate::Result<()> {
    execute(
        conn,
        "UPDATE security_groups SET name = $1, description = $2 WHERE id = $3",
        &[name, description, id],
    )
    .await?;
    Ok(())
}

/// Deletes the group, its rules and its tags (call inside one write transaction).
pub async fn delete_group(conn: &mut Conn, id: &str) -> crate::Result<()> {
    execute(
        conn,
        "DELETE FROM security_group_rules WHERE security_group_id = $1",
        &[id],
    )
    .await?;
    crate::tags::delete_all(conn, TAG_RESOURCE_TYPE, id).await?;
    sqlx::query(
        "UPDATE security_group_counts SET n = n - 1 \
         WHERE region_id = (SELECT region_id FROM security_groups WHERE id = $1)",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    execute(conn, "DELETE FROM security_groups WHERE id = $1", &[id]).await?;
    Ok(())
}

/// IDs of the security groups that belong to `vpc_id` (in `region_id`, for the index).
pub async fn ids_in_vpc(
    conn: &mut Conn,
    region_id: &str,
    vpc_id: &str,
) -> crate::Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT id FROM security_groups WHERE region_id = $1 AND vpc_id = $2 ORDER BY id",
    )
    .bind(region_id)
    .bind(vpc_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

pub async fn groups_referencing(conn: &mut Conn, id: &str) -> crate::Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT security_group_id FROM security_group_rules \
         WHERE peer_group_id = $1 AND security_group_id <> $1 ORDER BY security_group_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get("security_group_id"))
        .collect()
}

/// The listing filter; the region is always the first placeholder (`$1`).
fn filter(f: &GroupFilter) -> Where {
    let mut w = Where::default();
    // With an ID list, the primary key finds the (at most 100) rows; SQLite would otherwise
    // walk the region index to avoid sorting them. `region_id || ''` (portable SQL) keeps the
    // condition but takes that index out of the planner's choice.
    let region = if f.ids.is_some() {
        "region_id || ''"
    } else {
        "region_id"
    };
    w.eq(region, &f.region_id);
    if let Some(v) = &f.vpc_id {
        w.eq("vpc_id", v);
    }
    if let Some(v) = &f.name {
        w.eq("name", v);
    }
    if let Some(v) = &f.group_type {
        w.eq("group_type", v);
    }
    if let Some(v) = &f.resource_group_id {
        w.eq("resource_group_id", v);
    }
    match f.in_vpc {
        Some(true) => w.condition("vpc_id <> ''"),
        Some(false) => w.condition("vpc_id = ''"),
        None => {}
    }
    if let Some(ids) = &f.ids {
        w.any_of("id", ids);
    }
    w.tags(TAG_RESOURCE_TYPE, "id", &f.tags);
    w
}

pub async fn count_groups(conn: &mut Conn, f: &GroupFilter) -> crate::Result<i64> {
    filter(f).count(conn, "security_groups").await
}

/// A group on a listing page, with its rule counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group: GroupRecord,
    pub counts: RuleCounts,
}

/// A page of groups in creation order with rule counts and tags, plus the total number of
/// matches: `after_seq` continues a NextToken listing, `offset` a PageNumber listing. One query
/// answers all of it (the total is an uncorrelated subquery, computed once; tags come joined,
/// one row per tag); only a page past the end needs a second, COUNT-only query.
pub async fn page_groups(
    conn: &mut Conn,
    f: &GroupFilter,
    after_seq: Option<i64>,
    limit: i64,
    offset: i64,
) -> crate::Result<Page<Tagged<ListedGroup>>> {
    let w = filter(f);
    // Inside the total's subquery, unqualified columns are its own table's. A whole region's
    // total is kept in security_group_counts; anything narrower is counted.
    let total = if f.is_region_only() {
        "COALESCE((SELECT n FROM security_group_counts WHERE region_id = $1), 0)".to_string()
    } else {
        w.count_sql(GROUPS)
    };
    let q = TaggedQuery {
        table: GROUPS,
        select: format!(
            "{}, \
             (SELECT COUNT(*) FROM security_group_rules r WHERE r.security_group_id = security_groups.id) AS rules, \
             (SELECT COUNT(*) FROM security_group_rules r WHERE r.security_group_id = security_groups.id AND r.peer_group_id <> '') AS group_rules",
            select_list(GROUP_COLUMNS)
        ),
        tag_type: TAG_RESOURCE_TYPE,
        id_column: "id",
        filter: w,
        total,
    };
    tagged_page(conn, &q, after_seq, offset, limit, |r| {
        Ok(ListedGroup {
            group: group_from_row(r)?,
            counts: RuleCounts {
                rules: r.try_get("rules")?,
                group_to_group: r.try_get("group_rules")?,
            },
        })
    })
    .await
}

/// The rules of one group in creation order, with peer group names.
pub async fn rules_of(conn: &mut Conn, group_id: &str) -> crate::Result<Vec<RuleWithPeer>> {
    let rows = sqlx::query(&format!(
        "SELECT {}, COALESCE(p.name, '') AS peer_group_name FROM security_group_rules r \
         LEFT JOIN security_groups p ON p.id = r.peer_group_id \
         WHERE r.security_group_id = $1 ORDER BY r.seq",
        rule_select()
    ))
    .bind(group_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RuleWithPeer {
                rule: rule_from_row(r)?,
                peer_group_name: r.try_get("peer_group_name")?,
            })
        })
        .collect()
}

pub async fn find_rule_by_identity(
    conn: &mut Conn,
    group_id: &str,
    identity: &str,
) -> crate::Result<Option<RuleRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM security_group_rules r WHERE r.security_group_id = $1 AND r.identity = $2",
        rule_select()
    ))
    .bind(group_id)
    .bind(identity)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(rule_from_row).transpose()
}

pub async fn insert_rule(conn: &mut Conn, r: &RuleRecord) -> crate::Result<()> {
    // Rules are numbered within their group.
    let seq: i64 = sqlx::query(
        "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM security_group_rules WHERE security_group_id = $1",
    )
    .bind(&r.security_group_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("next")?;
    let sql = insert_sql(RULES, RULE_COLUMNS);
    Insert::new(&sql, RULE_COLUMNS)
        .bind(seq)
        .bind(&r.id)
        .bind(&r.security_group_id)
        .bind(&r.direction)
        .bind(&r.protocol)
        .bind(&r.port_range)
        .bind(&r.source_port_range)
        .bind(&r.peer_cidr)
        .bind(&r.peer_group_id)
        .bind(&r.local_cidr)
        .bind(&r.policy)
        .bind(r.priority)
        .bind(&r.nic_type)
        .bind(&r.description)
        .bind(&r.created_at)
        .bind(&r.identity)
        .execute(conn)
        .await
}

/// Rule IDs of `group_id` among `ids` with the given direction.
pub async fn existing_rule_ids(
    conn: &mut Conn,
    group_id: &str,
    direction: &str,
    ids: &[String],
) -> crate::Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM security_group_rules WHERE security_group_id = $1 AND direction = $2 AND id IN ({})",
        placeholders(3, ids.len())
    );
    let mut q = sqlx::query(&sql).bind(group_id).bind(direction);
    for id in ids {
        q = q.bind(id);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect()
}

pub async fn count_rules(conn: &mut Conn, group_id: &str) -> crate::Result<i64> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM security_group_rules WHERE security_group_id = $1")
            .bind(group_id)
            .fetch_one(&mut *conn)
            .await?;
    row.try_get("n")
}

pub async fn delete_rule(conn: &mut Conn, group_id: &str, rule_id: &str) -> crate::Result<()> {
    execute(
        conn,
        "DELETE FROM security_group_rules WHERE security_group_id = $1 AND id = $2",
        &[group_id, rule_id],
    )
    .await?;
    Ok(())
}

pub async fn delete_rule_by_identity(
    conn: &mut Conn,
    group_id: &str,
    identity: &str,
) -> crate::Result<u64> {
    execute(
        conn,
        "DELETE FROM security_group_rules WHERE security_group_id = $1 AND identity = $2",
        &[group_id, identity],
    )
    .await
}

/// Which of `ids` are groups in `region_id`.
pub async fn existing_group_ids(
    conn: &mut Conn,
    region_id: &str,
    ids: &[String],
) -> crate::Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM security_groups WHERE region_id = $1 AND id IN ({})",
        placeholders(2, ids.len())
    );
    let mut q = sqlx::query(&sql).bind(region_id);
    for id in ids {
        q = q.bind(id);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect()
}

/// A group's inner access policy (`Accept` or `Drop`), as the host firewall needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPolicy {
    pub id: String,
    pub inner_access_policy: String,
}

/// Every group's inner access policy, for the host firewall (which needs all of them).
pub async fn all_groups_for_network(conn: &mut Conn) -> crate::Result<Vec<GroupPolicy>> {
    let rows = sqlx::query("SELECT id, inner_access_policy FROM security_groups ORDER BY seq")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(GroupPolicy {
                id: r.try_get("id")?,
                inner_access_policy: r.try_get("inner_access_policy")?,
            })
        })
        .collect()
}

/// Every rule of every group, in creation order, for the host firewall.
pub async fn all_rules(conn: &mut Conn) -> crate::Result<Vec<RuleRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM security_group_rules r ORDER BY r.seq",
        rule_select()
    ))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(rule_from_row).collect()
}
