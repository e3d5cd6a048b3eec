//! Security groups and their rules as stored records. Validation lives in the cloud crate; this
//! module only reads and writes rows, and never issues one query per listed row.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::query::Where;
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

const GROUP_COLUMNS: &str = "id, region_id, name, description, vpc_id, group_type, resource_group_id, inner_access_policy, created_at, seq";

fn group_from_row(r: &AnyRow) -> (i64, GroupRecord) {
    (
        r.get(9),
        GroupRecord {
            id: r.get(0),
            region_id: r.get(1),
            name: r.get(2),
            description: r.get(3),
            vpc_id: r.get(4),
            group_type: r.get(5),
            resource_group_id: r.get(6),
            inner_access_policy: r.get(7),
            created_at: r.get(8),
        },
    )
}

const RULE_COLUMNS: &str = "r.id, r.security_group_id, r.direction, r.protocol, r.port_range, r.source_port_range, r.peer_cidr, r.peer_group_id, r.local_cidr, r.policy, r.priority, r.nic_type, r.description, r.created_at, r.identity";

fn rule_from_row(r: &AnyRow) -> RuleRecord {
    RuleRecord {
        id: r.get(0),
        security_group_id: r.get(1),
        direction: r.get(2),
        protocol: r.get(3),
        port_range: r.get(4),
        source_port_range: r.get(5),
        peer_cidr: r.get(6),
        peer_group_id: r.get(7),
        local_cidr: r.get(8),
        policy: r.get(9),
        priority: r.get(10),
        nic_type: r.get(11),
        description: r.get(12),
        created_at: r.get(13),
        identity: r.get(14),
    }
}

fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn insert_group(conn: &mut Conn, g: &GroupRecord) -> crate::Result<()> {
    sqlx::query(
        "INSERT INTO security_groups (id, seq, region_id, name, description, vpc_id, group_type, resource_group_id, inner_access_policy, created_at) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM security_groups), $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&g.id)
    .bind(&g.region_id)
    .bind(&g.name)
    .bind(&g.description)
    .bind(&g.vpc_id)
    .bind(&g.group_type)
    .bind(&g.resource_group_id)
    .bind(&g.inner_access_policy)
    .bind(&g.created_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO security_group_counts (region_id, n) VALUES ($1, 0) ON CONFLICT (region_id) DO NOTHING",
    )
    .bind(&g.region_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE security_group_counts SET n = n + 1 WHERE region_id = $1")
        .bind(&g.region_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn get_group(
    conn: &mut Conn,
    region_id: &str,
    id: &str,
) -> crate::Result<Option<GroupRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {GROUP_COLUMNS} FROM security_groups WHERE id = $1 AND region_id = $2"
    ))
    .bind(id)
    .bind(region_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| group_from_row(&r).1))
}

pub async fn update_group(
    conn: &mut Conn,
    id: &str,
    name: &str,
    description: &str,
) -> crate::Result<()> {
    sqlx::query("UPDATE security_groups SET name = $1, description = $2 WHERE id = $3")
        .bind(name)
        .bind(description)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes the group, its rules and its tags (call inside one write transaction).
pub async fn delete_group(conn: &mut Conn, id: &str) -> crate::Result<()> {
    sqlx::query("DELETE FROM security_group_rules WHERE security_group_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    crate::tags::delete_all(conn, TAG_RESOURCE_TYPE, id).await?;
    sqlx::query(
        "UPDATE security_group_counts SET n = n - 1 \
         WHERE region_id = (SELECT region_id FROM security_groups WHERE id = $1)",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM security_groups WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Groups other than `id` with a rule whose peer is `id`, in ID order.
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
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub async fn groups_referencing(conn: &mut Conn, id: &str) -> crate::Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT security_group_id FROM security_group_rules \
         WHERE peer_group_id = $1 AND security_group_id <> $1 ORDER BY security_group_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
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

/// A group on a listing page: its `seq` (the NextToken cursor), the record, its rule counts and
/// its tags.
pub type PageRow = (i64, GroupRecord, RuleCounts, Vec<Tag>);

/// A page of groups in creation order with rule counts and tags, plus the total number of
/// matches: `after_seq` continues a NextToken listing, `offset` a PageNumber listing. One query
/// answers all of it (the total is an uncorrelated subquery, computed once; tags come joined,
/// one row per tag), because each query is a round trip to the database's worker thread and
/// those hand-offs dominate a listing's cost. Only a page past the end needs a second,
/// COUNT-only query.
pub async fn page_groups(
    conn: &mut Conn,
    f: &GroupFilter,
    after_seq: Option<i64>,
    limit: i64,
    offset: i64,
) -> crate::Result<(i64, Vec<PageRow>)> {
    let mut w = filter(f);
    // The total's subquery uses the filter's placeholders before the cursor is added (both
    // backends allow a placeholder to appear twice); inside the subquery, unqualified columns
    // are its own table's. A whole region's total is kept in security_group_counts; anything
    // narrower is counted.
    let total = if f.is_region_only() {
        "COALESCE((SELECT n FROM security_group_counts WHERE region_id = $1), 0)".to_string()
    } else {
        w.count_sql("security_groups")
    };
    if let Some(seq) = after_seq {
        w.gt_int("seq", seq);
    }
    let n = w.next();
    let sql = format!(
        "SELECT p.*, t.tag_key, t.tag_value FROM (\
           SELECT {GROUP_COLUMNS}, {total} AS total, \
           (SELECT COUNT(*) FROM security_group_rules r WHERE r.security_group_id = security_groups.id) AS rules, \
           (SELECT COUNT(*) FROM security_group_rules r WHERE r.security_group_id = security_groups.id AND r.peer_group_id <> '') AS group_rules \
           FROM security_groups WHERE {} ORDER BY seq LIMIT ${n} OFFSET ${}) p \
         LEFT JOIN tags t ON t.resource_type = ${} AND t.resource_id = p.id ORDER BY p.seq, t.tag_key",
        w.conditions(),
        n + 1,
        n + 2
    );
    let rows = w
        .bind(sqlx::query(&sql))
        .bind(limit)
        .bind(offset)
        .bind(TAG_RESOURCE_TYPE)
        .fetch_all(&mut *conn)
        .await?;
    let Some(first) = rows.first() else {
        return Ok((count_groups(conn, f).await?, Vec::new()));
    };
    let total: i64 = first.get(10);
    let mut page: Vec<PageRow> = Vec::new();
    for r in &rows {
        let (seq, g) = group_from_row(r);
        if page.last().is_none_or(|(_, last, _, _)| last.id != g.id) {
            let counts = RuleCounts {
                rules: r.get(11),
                group_to_group: r.get(12),
            };
            page.push((seq, g, counts, Vec::new()));
        }
        let key: Option<String> = r.get(13);
        if let (Some(key), Some((_, _, _, tags))) = (key, page.last_mut()) {
            tags.push(Tag {
                key,
                value: r.get::<Option<String>, _>(14).unwrap_or_default(),
            });
        }
    }
    Ok((total, page))
}

/// The rules of one group in creation order, with peer group names.
pub async fn rules_of(conn: &mut Conn, group_id: &str) -> crate::Result<Vec<RuleWithPeer>> {
    let rows = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS}, COALESCE(p.name, '') FROM security_group_rules r \
         LEFT JOIN security_groups p ON p.id = r.peer_group_id \
         WHERE r.security_group_id = $1 ORDER BY r.seq"
    ))
    .bind(group_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| RuleWithPeer {
            rule: rule_from_row(r),
            peer_group_name: r.get(15),
        })
        .collect())
}

pub async fn find_rule_by_identity(
    conn: &mut Conn,
    group_id: &str,
    identity: &str,
) -> crate::Result<Option<RuleRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM security_group_rules r WHERE r.security_group_id = $1 AND r.identity = $2"
    ))
    .bind(group_id)
    .bind(identity)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(rule_from_row))
}

pub async fn insert_rule(conn: &mut Conn, r: &RuleRecord) -> crate::Result<()> {
    sqlx::query(
        "INSERT INTO security_group_rules (id, security_group_id, seq, direction, protocol, port_range, source_port_range, peer_cidr, peer_group_id, local_cidr, policy, priority, nic_type, description, created_at, identity) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM security_group_rules WHERE security_group_id = $2), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
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
    .execute(&mut *conn)
    .await?;
    Ok(())
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
    Ok(q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub async fn count_rules(conn: &mut Conn, group_id: &str) -> crate::Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM security_group_rules WHERE security_group_id = $1")
        .bind(group_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get(0))
}

pub async fn delete_rule(conn: &mut Conn, group_id: &str, rule_id: &str) -> crate::Result<()> {
    sqlx::query("DELETE FROM security_group_rules WHERE security_group_id = $1 AND id = $2")
        .bind(group_id)
        .bind(rule_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_rule_by_identity(
    conn: &mut Conn,
    group_id: &str,
    identity: &str,
) -> crate::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM security_group_rules WHERE security_group_id = $1 AND identity = $2",
    )
    .bind(group_id)
    .bind(identity)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
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
    Ok(q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Every group's ID and inner access policy, for the host firewall (which needs all of them).
pub async fn all_groups_for_network(conn: &mut Conn) -> crate::Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT id, inner_access_policy FROM security_groups ORDER BY seq")
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Every rule of every group, in creation order, for the host firewall.
pub async fn all_rules(conn: &mut Conn) -> crate::Result<Vec<RuleRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM security_group_rules r ORDER BY r.seq"
    ))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(rule_from_row).collect())
}
