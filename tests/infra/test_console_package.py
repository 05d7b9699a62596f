"""The web console ships inside the packaged API: its files are in the deployment zip, and the API function,
loaded from the package alone as Lambda loads it, answers /console and its modules with the CSP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "chalicelib" / "console"

PROBE = r"""
import json, sys
spec = json.loads(sys.stdin.read())
sys.path[:0] = [spec["task"], spec["runtime"]]
from awslambdaric.bootstrap import _get_handler
handler = _get_handler("app.app")
answers = {}
for path in spec["paths"]:
    event = {
        "resource": "/console/{asset}" if path.count("/") > 1 else "/console", "path": path, "httpMethod": "GET",
        "headers": {"Host": "probe"}, "multiValueHeaders": {"Host": ["probe"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"asset": path.rsplit("/", 1)[1]} if path.count("/") > 1 else None,
        "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/console/{asset}" if path.count("/") > 1 else "/console",
                           "httpMethod": "GET", "stage": "api", "requestId": "probe",
                           "identity": {"sourceIp": "127.0.0.1"}},
    }
    answers[path] = handler(event, None)
print(json.dumps(answers))
"""


def test_every_console_file_is_in_the_package(lambda_dirs: tuple[Path, Path]) -> None:
    task, _ = lambda_dirs
    shipped = task / "chalicelib" / "console"
    files = sorted(p.name for p in ASSETS.iterdir() if p.is_file())
    assert "index.html" in files and "app.js" in files
    assert sorted(p.name for p in shipped.iterdir()) == files
    for name in files:
        assert (shipped / name).read_bytes() == (ASSETS / name).read_bytes(), name


def test_the_packaged_api_serves_the_console(lambda_dirs: tuple[Path, Path]) -> None:
    task, runtime = lambda_dirs
    paths = ["/console", "/console/app.js", "/console/style.css", "/console/missing.js"]
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE],
        input=json.dumps({"task": str(task), "runtime": str(runtime), "paths": paths}),
        env={"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        cwd=task,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    page, module, style, missing = (answers[p] for p in paths)
    assert page["statusCode"] == 200 and page["body"] == (ASSETS / "index.html").read_text()
    assert page["headers"]["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page["headers"]["Content-Security-Policy"]
    assert module["statusCode"] == 200 and module["headers"]["Content-Type"].startswith("text/javascript")
    assert style["statusCode"] == 200 and style["headers"]["Content-Type"].startswith("text/css")
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["type"].endswith("/not-found")
