//! A fleet's databases in rollout order: from its file, its list, or its catalog query.
//! URLs carry no passwords (libpq's rules supply them); each must parse, and none may be
//! listed twice (two runners would contend for one ledger).

use crate::core::data::config::{no_password, Environment, FleetSource};
use crate::core::db::connect::Target;
use crate::core::error::{Error, Result};

/// One database of a fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// 0-based position in rollout order (what `--shard I/N` divides).
    pub position: usize,
    pub url: String,
    /// `user@host:port/db`, for tables and messages.
    pub label: String,
}

/// `--shard I/N`: the databases at positions congruent to I modulo N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || Error::input(format!("shard {s:?}: write I/N with 0 <= I < N, e.g. 0/4"));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) =
            (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

/// The fleet's databases; an environment that is not a fleet has none.
pub async fn members(env: &Environment) -> Result<Vec<Member>> {
    let Some(fleet) = &env.fleet else { return Ok(Vec::new()) };
    let listed: Vec<(String, String)> = match &fleet.source {
        FleetSource::Urls(urls) => {
            urls.iter().enumerate().map(|(i, u)| (u.clone(), format!("fleet.urls[{i}]"))).collect()
        }
        FleetSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::input(format!("fleet file {}: {e}", path.display())))?;
            from_file(&text, &path.display().to_string())
        }
        FleetSource::Query { query, url_env } => from_catalog(env, query, url_env).await?,
    };
    let mut out: Vec<Member> = Vec::with_capacity(listed.len());
    for (url, at) in listed {
        no_password(&url, &at)?;
        let target = Target::from_url(&env.name, &url, &env.tls)
            .map_err(|e| Error::input(format!("{at}: {}", e.message)))?;
        let label = target.describe();
        if let Some(twice) = out.iter().find(|m| m.label == label) {
            return Err(Error::input(format!(
                "{at}: {label} is listed twice in the fleet (also at position {})",
                twice.position
            )));
        }
        out.push(Member { position: out.len(), url, label });
    }
    if out.is_empty() {
        return Err(Error::input(format!("the fleet of {} lists no database", env.name)));
    }
    Ok(out)
}

/// One URL per line, `#` comments and blank lines skipped; each with its `file:line`.
fn from_file(text: &str, file: &str) -> Vec<(String, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let url = match line.find(" #").or_else(|| line.find("\t#")) {
                Some(at) => &line[..at],
                None => line,
            }
            .trim();
            (!url.is_empty() && !url.starts_with('#'))
                .then(|| (url.to_string(), format!("{file}:{}", i + 1)))
        })
        .collect()
}

/// The catalog query's first column, row by row, on the database `url_env` names.
async fn from_catalog(
    env: &Environment,
    query: &str,
    url_env: &str,
) -> Result<Vec<(String, String)>> {
    let url = std::env::var(url_env).map_err(|_| {
        Error::input(format!(
            "fleet.url_env = {url_env:?}: the variable is not set (it holds the catalog database's URL)"
        ))
    })?;
    let catalog = Target::from_url(&env.name, &url, &env.tls)?;
    let client = catalog.connect("sluice/fleet").await?;
    let rows = client.simple_query(query).await.map_err(|e| {
        Error::database(format!(
            "fleet.query on {}: {}",
            catalog.describe(),
            crate::core::error::describe_pg(&e)
        ))
    })?;
    let mut out = Vec::new();
    for m in rows {
        if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
            let at = format!("fleet.query row {}", out.len() + 1);
            match r.get(0) {
                Some(u) if !u.trim().is_empty() => out.push((u.trim().to_string(), at)),
                _ => return Err(Error::input(format!("{at}: the URL is empty or NULL"))),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn shards_split_by_position() {
        let s = Shard::parse("1/3").unwrap();
        let taken: Vec<usize> = (0..10).filter(|p| s.takes(*p)).collect();
        assert_eq!(taken, vec![1, 4, 7]);
        for bad in ["3/3", "1", "a/2", "0/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_fleet_file_is_urls_comments_and_blank_lines() {
        let text = "# tenants\npostgres://app@db1/t1\n\n  postgres://app@db2/t2  # eu\n#postgres://app@db3/t3\n";
        let got = super::from_file(text, "tenants.txt");
        assert_eq!(
            got,
            vec![
                ("postgres://app@db1/t1".to_string(), "tenants.txt:2".to_string()),
                ("postgres://app@db2/t2".to_string(), "tenants.txt:4".to_string()),
            ]
        );
    }
}
