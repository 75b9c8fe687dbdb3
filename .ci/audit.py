"""pip-audit over requirements.lock: fail on any known vulnerability; say plainly how many packages could
not be checked (here the vulnerability service may be out of reach, which is not a pass)."""

from __future__ import annotations

import json
import subprocess
import sys

result = subprocess.run(
    [
        sys.executable,
        "-m",
        "pip_audit",
        "--require-hashes",
        "--disable-pip",
        "-r",
        "requirements.lock",
        "-f",
        "json",
    ],
    capture_output=True,
    text=True,
    check=False,
)
try:
    report = json.loads(result.stdout)
except json.JSONDecodeError:
    sys.exit(f"pip-audit did not answer: {result.stderr.strip()[-500:]}")
dependencies = report["dependencies"]
vulnerable = [d for d in dependencies if d.get("vulns")]
unchecked = [d["name"] for d in dependencies if "skip_reason" in d]
for dependency in vulnerable:
    for vuln in dependency["vulns"]:
        fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
        print(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
checked = len(dependencies) - len(unchecked)
print(
    f"pip-audit: {checked} of {len(dependencies)} packages checked, "
    f"{len(vulnerable)} with known vulnerabilities"
)
if unchecked:
    print(
        f"pip-audit: NOT CHECKED (vulnerability service out of reach?): {', '.join(unchecked[:10])}"
        + (f" and {len(unchecked) - 10} more" if len(unchecked) > 10 else "")
    )
sys.exit(1 if vulnerable else 0)
