//! TLS per sslmode against the test cluster, with certificates made here by openssl.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use sluice::core::data::config::Tls;
use sluice::core::db::connect::Target;

struct Certs {
    dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, a server certificate for DNS:localhost signed by it, and an unrelated CA.
fn certs() -> Option<&'static Certs> {
    static CERTS: OnceLock<Option<Certs>> = OnceLock::new();
    CERTS
        .get_or_init(|| {
            let cluster = crate::support::cluster()?;
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let subj = |cn: &str| format!("/CN={cn}");
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "2",
                    "-subj",
                    &subj("sluice test CA"),
                ],
            );
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    "other.key",
                    "-out",
                    "other.crt",
                    "-days",
                    "2",
                    "-subj",
                    &subj("unrelated CA"),
                ],
            );
            openssl(
                d,
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    &subj("localhost"),
                ],
            );
            std::fs::write(d.join("ext"), "subjectAltName=DNS:localhost\n").unwrap();
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    "server.csr",
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    "server.crt",
                    "-days",
                    "2",
                    "-extfile",
                    "ext",
                ],
            );
            cluster.enable_tls(&d.join("server.crt"), &d.join("server.key")).expect("enable TLS");
            Some(Certs { dir })
        })
        .as_ref()
}

async fn ssl_in_use(target: &Target) -> Result<bool, String> {
    let c = target.connect("sluice/tls-test").await.map_err(|e| e.message)?;
    let row =
        c.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap();
    Ok(row.get(0))
}

#[tokio::test]
async fn sslmodes_connect_verify_and_refuse_as_libpq_does() {
    let Some(certs) = certs() else { return };
    let cluster = crate::support::cluster().unwrap();
    let db = crate::support::fresh_db().await;
    let c = db.client().await;
    crate::support::ensure_password_role(&c).await;
    let root = certs.dir.path().join("ca.crt").display().to_string();
    let other = certs.dir.path().join("other.crt").display().to_string();
    let url = |host: &str, params: &str| {
        format!("postgres://sluice_pw:right@{host}:{}/{}?{params}", cluster.port, db.name)
    };
    let target = |u: String| Target::from_url("t", &u, &Tls::default()).unwrap();

    assert!(ssl_in_use(&target(url("127.0.0.1", "sslmode=require"))).await.unwrap());
    assert!(!ssl_in_use(&target(url("127.0.0.1", "sslmode=disable"))).await.unwrap());
    let full = format!("sslmode=verify-full&sslrootcert={root}");
    assert!(ssl_in_use(&target(url("localhost", &full))).await.unwrap());
    // The certificate names localhost, not 127.0.0.1: verify-full refuses, verify-ca accepts.
    let err = ssl_in_use(&target(url("127.0.0.1", &full))).await.unwrap_err();
    assert!(err.contains("cannot connect"), "{err}");
    let ca = format!("sslmode=verify-ca&sslrootcert={root}");
    assert!(ssl_in_use(&target(url("127.0.0.1", &ca))).await.unwrap());
    // A certificate from another CA fails verification.
    let wrong = format!("sslmode=verify-ca&sslrootcert={other}");
    let err = ssl_in_use(&target(url("127.0.0.1", &wrong))).await.unwrap_err();
    assert!(err.contains("certificate"), "{err}");
    // sluice.toml's sslmode wins over the URL's.
    let file_tls =
        Tls { sslmode: Some(sluice::core::data::config::SslMode::Require), ..Tls::default() };
    let t = Target::from_url("t", &url("127.0.0.1", "sslmode=disable"), &file_tls).unwrap();
    assert!(ssl_in_use(&t).await.unwrap());
}
