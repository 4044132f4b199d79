"""Drives lited with pylxd (Debian's 2.2, which speaks /1.0/containers).

Usage: LXD_DIR=<lite dir> python3 pylxd_flow.py NAME IMAGE_ALIAS NETWORK
Exits non-zero with a message on the first thing that does not behave as with LXD.
"""
import sys
import threading
import time

import pylxd
from pylxd.exceptions import LXDAPIException, NotFound
from ws4py.client import WebSocketBaseClient


def check(cond, what):
    if not cond:
        sys.exit("pylxd flow: " + what)


class Events(WebSocketBaseClient):
    """Collects event messages of /1.0/events."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.messages = []

    def received_message(self, m):
        self.messages.append(m.data.decode("utf-8"))


def main(name, alias, network):
    c = pylxd.Client()
    check(c.trusted, "client not trusted")
    exts = c.host_info["api_extensions"]
    check("instances" in exts and "container_exec_user_group_cwd" in exts, "api_extensions: %r" % exts)

    ev = c.events(websocket_client=Events)
    ev.connect()
    threading.Thread(target=ev.run, daemon=True).start()

    check(not c.containers.exists(name), "%s exists before the test" % name)
    ct = c.containers.create({"name": name, "source": {"type": "image", "alias": alias},
                              "config": {"user.made-by": "pylxd"}}, wait=True)
    check(c.containers.exists(name), "created container not found")
    check(ct.config.get("user.made-by") == "pylxd", "config: %r" % ct.config)
    check(name in [x.name for x in c.containers.all()], "containers.all() lacks %s" % name)
    ct.start(wait=True)
    ct = c.containers.get(name)
    check(ct.status == "Running", "status after start: %s" % ct.status)
    st = ct.state()
    check(st.status == "Running" and st.pid > 0, "state: %s pid %s" % (st.status, st.pid))

    # /1.0/instances answers as /1.0/containers (newer pylxd uses it).
    legacy = c.api.containers[name].get().json()["metadata"]
    new = c.api.instances[name].get().json()["metadata"]
    check(legacy == new, "/1.0/containers/%s and /1.0/instances/%s differ" % (name, name))
    urls = c.api.containers.get().json()["metadata"]
    check("/1.0/containers/" + name in urls, "/1.0/containers lists %r" % urls)

    res = ct.execute(["sh", "-c", "echo out; echo err >&2; exit 3"])
    check(res.exit_code == 3 and res.stdout == "out\n" and res.stderr == "err\n", "execute: %r" % (res,))
    res = ct.execute(["cat"], stdin_payload="from stdin")
    check(res.exit_code == 0 and res.stdout == "from stdin", "execute with stdin: %r" % (res,))
    res = ct.execute(["sh", "-c", "echo $GREETING"], environment={"GREETING": "hi"})
    check(res.stdout == "hi\n", "execute with environment: %r" % (res,))

    ct.files.put("/root/pylxd.txt", b"file data\n")
    check(ct.files.get("/root/pylxd.txt") == b"file data\n", "files.get")
    check(ct.execute(["cat", "/root/pylxd.txt"]).stdout == "file data\n", "the pushed file inside")
    ct.files.delete("/root/pylxd.txt")
    try:
        ct.files.get("/root/pylxd.txt")
        check(False, "a deleted file can still be read")
    except (NotFound, LXDAPIException):
        pass

    snap = ct.snapshots.create("p0", wait=True)
    check([s.name for s in ct.snapshots.all()] == ["p0"], "snapshots.all()")
    check(ct.snapshots.get("p0").name == "p0", "snapshots.get")
    snap.delete(wait=True)
    check(ct.snapshots.all() == [], "snapshot not deleted")

    img = c.images.get_by_alias(alias)
    check(len(img.fingerprint) == 64, "image fingerprint %r" % img.fingerprint)
    check(img.fingerprint in [i.fingerprint for i in c.images.all()], "images.all()")

    prof = c.profiles.create("pylxdprof", config={"user.x": "1"}, devices={})
    prof.config["user.x"] = "2"
    prof.save(wait=True)
    check(c.profiles.get("pylxdprof").config["user.x"] == "2", "profile save")
    prof.delete()
    check(not c.profiles.exists("pylxdprof"), "profile not deleted")
    check("default" in [p.name for p in c.profiles.all()], "profiles.all() lacks default")

    check(network in [n.name for n in c.networks.all()], "networks.all() lacks %s" % network)
    net = c.networks.get(network)
    check(net.type == "bridge" and net.managed, "network %s: type %s managed %s" % (network, net.type, net.managed))

    # A raw stop through the API: an operation, waited on through /1.0/operations.
    r = c.api.containers[name].state.put(json={"action": "stop", "force": True})
    op = c.operations.get(r.json()["operation"].split("/")[-1])
    op.wait()
    ct = c.containers.get(name)
    check(ct.status == "Stopped", "status after stop: %s" % ct.status)

    # Refusals carry lite's error_kind (error reply) and err_kind (failed operation), which
    # pylxd does not know: it must still read them as LXD's.
    r = c.api.containers[name].state.put(json={"action": "stop", "force": True})
    op = c.operations.get(r.json()["operation"].split("/")[-1])
    try:
        op.wait()
        check(False, "a stop of a stopped container succeeded")
    except LXDAPIException as e:
        check("already stopped" in str(e), "second stop: %s" % e)
    try:
        c.containers.get(name + "-nosuch")
        check(False, "a missing container was found")
    except NotFound as e:
        check("not found" in str(e), "missing container: %s" % e)

    # Images: publish the stopped container, export it, delete it, upload the export again (a
    # unified tarball with no Content-Type, as pylxd sends it): the same fingerprint.
    pub = ct.publish(wait=True)
    fp = pub.fingerprint
    check(len(fp) == 64, "published fingerprint %r" % fp)
    data = pub.export().read()
    pub.delete(wait=True)
    check(fp not in [i.fingerprint for i in c.images.all()], "deleted image still listed")
    img2 = c.images.create(data, wait=True)
    check(img2.fingerprint == fp, "re-uploaded image: fingerprint %s, want %s" % (img2.fingerprint, fp))
    img2.add_alias("pylxd-img", "from pylxd")
    check(c.images.get_by_alias("pylxd-img").fingerprint == fp, "alias pylxd-img")
    img2.delete_alias("pylxd-img")
    img2.delete(wait=True)

    ct.delete(wait=True)
    check(not c.containers.exists(name), "container not deleted")

    deadline = time.time() + 30
    while time.time() < deadline and not any('"operation"' in m for m in ev.messages):
        time.sleep(0.1)
    ev.close()
    check(any('"operation"' in m for m in ev.messages), "no operation event: %r" % ev.messages[:3])
    check(any('"lifecycle"' in m and name in m for m in ev.messages), "no lifecycle event for %s" % name)
    print("pylxd flow: OK")


if __name__ == "__main__":
    main(*sys.argv[1:4])
