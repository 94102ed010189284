use super::*;

fn parse(text: &str) -> Result<Project> {
    Project::parse(text, Path::new("/p"))
}

#[test]
fn full_environment_parses() {
    let p = parse(
        r#"
        [project]
        name = "shop"
        ledger_schema = "ops_ledger"
        lock_timeout = "3s"
        [environments.prod]
        tier = "production"
        url_env = "PROD_URL"
        sslmode = "verify-full"
        sslrootcert = "certs/root.crt"
        lock_retries = 5
        approvals = { required = 2, ticket = "required" }
        backup = { dir = "backups", keep_days = 14, keep_count = 10 }
        maintenance_window = { days = ["sat", "sun"], start = "02:00", end = "04:30" }
        hooks = { pre_apply = ["./notify.sh"], timeout = "30s" }
        "#,
    )
    .unwrap();
    let e = p.environment(None).unwrap();
    assert_eq!(e.tier, Tier::Production);
    assert_eq!(e.lock_timeout, Duration::from_secs(3));
    assert_eq!(e.backup.mode, BackupMode::Required);
    assert_eq!(e.backup.dir, Some(PathBuf::from("/p/backups")));
    assert_eq!(e.tls.sslmode, Some(SslMode::VerifyFull));
    assert_eq!(e.approvals.required, 2);
    let w = e.maintenance_window.as_ref().unwrap();
    assert_eq!((w.days.clone(), w.start_minute, w.end_minute), (vec![5, 6], 120, 270));
    assert_eq!(p.ledger_schema, "ops_ledger");
}

#[test]
fn password_in_url_is_refused() {
    let err = parse(
        "[environments.dev]\ntier = \"development\"\nurl = \"postgres://app:secret@db/shop\"\n",
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.message.contains("password"), "{err}");
    assert!(!url_has_password("postgres://app@db:5432/shop?sslmode=require"));
    assert!(url_has_password("postgresql://db/shop?user=a&password=b"));
}

#[test]
fn unknown_key_names_line() {
    let err = parse(
        "[environments.dev]\ntier = \"development\"\nurl_env = \"X\"\nlock_timout = \"1s\"\n",
    )
    .unwrap_err();
    assert!(err.message.starts_with("line 4"), "{err}");
    assert!(err.message.contains("lock_timout"), "{err}");
}

#[test]
fn bad_values_are_named() {
    let err = parse("[environments.dev]\ntier = \"dev\"\nurl_env = \"X\"\n").unwrap_err();
    assert!(err.message.contains("line 2"), "{err}");
    let err = parse("[environments.dev]\ntier = \"development\"\nurl_env = \"X\"\nlock_timeout = \"5 parsecs\"\n")
        .unwrap_err();
    assert!(err.message.contains("[environments.dev]: lock_timeout"), "{err}");
    let err = parse("[environments.dev]\ntier = \"development\"\n").unwrap_err();
    assert!(err.message.contains("url_env"), "{err}");
}

#[test]
fn environment_selection() {
    let p = parse(
        "[environments.a]\ntier = \"development\"\nurl_env = \"A\"\n[environments.b]\ntier = \"testing\"\nurl_env = \"B\"\n",
    )
    .unwrap();
    let none = p.environment(None).unwrap_err();
    assert!(none.message.contains("choose one"), "{none}");
    assert_eq!(
        none.refusal,
        Some(crate::core::error::Refusal::ChooseEnvironment),
        "each face says how"
    );
    assert_eq!(p.environment(Some("b")).unwrap().tier, Tier::Testing);
    let err = p.environment(Some("prod")).unwrap_err();
    assert!(err.message.contains("a, b"), "{err}");
}

#[test]
fn environments_go_by_tier_then_name() {
    let p = parse(
        "[environments.prod]\ntier = \"production\"\nurl_env = \"P\"\n[environments.staging]\ntier = \"testing\"\nurl_env = \"S\"\n[environments.dev]\ntier = \"development\"\nurl_env = \"D\"\n[environments.ci]\ntier = \"testing\"\nurl_env = \"C\"\n",
    )
    .unwrap();
    let names: Vec<&str> = p.environments_in_order().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["dev", "ci", "staging", "prod"]);
}

#[test]
fn lint_levels_per_tier() {
    let p = parse(
        "[lint.rules]\nprefer-jsonb = \"off\"\nrename-column = \"info\"\n[lint.production]\nrename-column = \"error\"\n",
    )
    .unwrap();
    assert_eq!(p.lint_levels(None).get("prefer-jsonb"), Some(&None));
    assert_eq!(
        p.lint_levels(Some(Tier::Testing)).get("rename-column"),
        Some(&Some(Severity::Info))
    );
    assert_eq!(
        p.lint_levels(Some(Tier::Production)).get("rename-column"),
        Some(&Some(Severity::Error))
    );
    let err = parse("[lint.rules]\nno-such-rule = \"off\"\n").unwrap_err();
    assert!(err.message.contains("no-such-rule"), "{err}");
    let err = parse("[lint.rules]\nprefer-jsonb = \"loud\"\n").unwrap_err();
    assert!(err.message.contains("loud"), "{err}");
}

#[test]
fn maintenance_window_contains() {
    let w = MaintenanceWindow { days: vec![5], start_minute: 120, end_minute: 240 };
    assert!(w.contains(5, 120) && w.contains(5, 239));
    assert!(!w.contains(5, 240) && !w.contains(4, 150));
    let night = MaintenanceWindow { days: vec![0], start_minute: 23 * 60, end_minute: 60 };
    assert!(night.contains(0, 23 * 60 + 30) && night.contains(1, 30));
    assert!(!night.contains(1, 23 * 60 + 30));
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("2min"), Some(Duration::from_secs(120)));
    assert_eq!(parse_duration("0"), Some(Duration::ZERO));
    assert_eq!(parse_duration("1.5s"), None);
    assert_eq!(parse_duration(""), None);
}

#[test]
fn backup_max_age() {
    let base = "[environments.dev]\ntier = \"development\"\nurl_env = \"X\"\n";
    let p = parse(&format!("{base}backup = {{ max_age = \"12h\" }}\n")).unwrap();
    let env = p.environment(Some("dev")).unwrap();
    assert_eq!(env.backup.max_age, Some(Duration::from_secs(12 * 3600)));
    for bad in ["0", "soon"] {
        let err = parse(&format!("{base}backup = {{ max_age = \"{bad}\" }}\n")).unwrap_err();
        assert!(err.message.contains("backup.max_age"), "{err}");
    }
}

#[test]
fn durations_read_as_an_operator_would() {
    use super::describe_duration as d;
    assert_eq!(d(Duration::from_secs(45)), "45 s");
    assert_eq!(d(Duration::from_secs(600)), "10 min");
    assert_eq!(d(Duration::from_secs(7200)), "2 h");
    assert_eq!(d(Duration::from_secs(3 * 3600 + 20 * 60)), "3 h 20 min");
    assert_eq!(d(Duration::from_secs(2 * 86_400)), "2 d");
    assert_eq!(d(Duration::from_secs(86_400 + 5 * 3600)), "1 d 5 h");
}

#[test]
fn promotion_chains_are_checked() {
    let env = |name: &str, from: Option<&str>| {
        let from = from.map(|f| format!("promote_from = \"{f}\"\n")).unwrap_or_default();
        format!("[environments.{name}]\ntier = \"testing\"\nurl_env = \"U\"\n{from}")
    };
    let chain = format!(
        "{}{}{}",
        env("dev", None),
        env("staging", Some("dev")),
        env("prod", Some("staging"))
    );
    let p = parse(&chain).unwrap();
    assert_eq!(p.environments["prod"].promote_from.as_deref(), Some("staging"));
    assert!(p.environments["prod"].promotion_override);
    assert_eq!(p.environments["dev"].promote_from, None);

    let unknown =
        parse(&format!("{}{}", env("dev", None), env("prod", Some("stagin")))).unwrap_err();
    assert!(
        unknown.message.contains("promote_from = \"stagin\": no such environment"),
        "{}",
        unknown.message
    );
    assert!(unknown.message.contains("dev, prod"), "{}", unknown.message);
    let itself = parse(&env("prod", Some("prod"))).unwrap_err();
    assert!(itself.message.contains("cannot promote from itself"), "{}", itself.message);
    let looped =
        parse(&format!("{}{}{}", env("a", Some("c")), env("b", Some("a")), env("c", Some("b"))))
            .unwrap_err();
    assert!(looped.message.contains("loops (a → b → c → a)"), "{}", looped.message);

    let strict = parse(&format!(
        "{}{}promotion_override = false\n",
        env("dev", None),
        env("prod", Some("dev"))
    ))
    .unwrap();
    assert!(!strict.environments["prod"].promotion_override);
}

#[test]
fn fleets_are_listed_one_way_and_rolled_out_as_said() {
    let env = |body: &str| format!("[environments.tenants]\ntier = \"production\"\n{body}\n");
    let p = parse(&env("fleet = { file = \"tenants.txt\" }\nrollout = { canary = 2, waves = [5, 50], parallel = 8, max_failures = 1 }")).unwrap();
    let f = p.environments["tenants"].fleet.clone().unwrap();
    assert_eq!(f.source, FleetSource::File(PathBuf::from("/p/tenants.txt")));
    assert_eq!(f.rollout, Rollout { canary: 2, waves: vec![5, 50], parallel: 8, max_failures: 1 });
    let q = parse(&env(
        "fleet = { query = \"SELECT url FROM tenants ORDER BY id\", url_env = \"CATALOG_URL\" }",
    ))
    .unwrap();
    assert_eq!(q.environments["tenants"].fleet.as_ref().unwrap().rollout, Rollout::default());
    let member = q.environments["tenants"].member("postgres://app@db1/t1");
    assert_eq!(
        (member.url.as_deref(), member.fleet.is_none()),
        (Some("postgres://app@db1/t1"), true)
    );

    for (body, says) in [
        (
            "fleet = { urls = [\"postgres://a:secret@db/x\"] }",
            "fleet.urls[0]: the URL holds a password",
        ),
        ("fleet = { query = \"SELECT 1\" }", "needs url_env"),
        ("fleet = { file = \"a\", urls = [] }", "exactly one"),
        ("url_env = \"U\"\nfleet = { file = \"a\" }", "not both"),
        ("url_env = \"U\"\nrollout = { parallel = 2 }", "rollout is for a fleet"),
        ("fleet = { file = \"a\" }\nrollout = { parallel = 0 }", "between 1 and 256"),
        ("fleet = { file = \"a\" }\nrollout = { waves = [0] }", "at least one database"),
    ] {
        let e = parse(&env(body)).unwrap_err();
        assert!(e.message.contains(says), "{body}: {}", e.message);
    }
}

#[test]
fn the_fleet_docs_config_parses() {
    let doc = include_str!("../../../../docs/fleet-shards.md");
    let toml = doc.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).unwrap();
    let p = parse(toml).unwrap();
    assert!(p.environments["canary"].fleet.is_some());
    assert_eq!(p.environments["tenants"].fleet.as_ref().unwrap().rollout.parallel, 8);
}
