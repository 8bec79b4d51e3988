# ruff: noqa: UP031
# hwdock verify, the Python part: runs inside the container with the image's own Python
# (any Python 3), prints one JSON object per line. No third-party imports besides torch.
import json
import os
import sys


def emit(**kw):
    print(json.dumps(kw))
    sys.stdout.flush()


def main():
    try:
        import torch
    except Exception as err:  # ImportError, or a broken install
        emit(check="torch", found=False, error=repr(err)[:300])
        return
    version = getattr(torch, "version", None)
    emit(
        check="torch",
        found=True,
        version=str(getattr(torch, "__version__", "?")),
        hip=getattr(version, "hip", None),
        cuda=getattr(version, "cuda", None),
    )
    try:
        items = list(torch.cuda.get_arch_list())
    except Exception as err:
        items = []
        emit(check="arch-list-error", error=repr(err)[:300])
    emit(check="arch-list", items=items)
    try:
        available = bool(torch.cuda.is_available())
        count = int(torch.cuda.device_count())
    except Exception as err:
        emit(check="gpu", count=0, available=False, error=str(err)[:500])
        return
    devices = []
    for i in range(count):
        try:
            p = torch.cuda.get_device_properties(i)
            devices.append(
                {
                    "index": i,
                    "name": str(p.name),
                    "gcn_arch": getattr(p, "gcnArchName", None),
                    "capability": "%d.%d" % (p.major, p.minor),
                    "memory": int(getattr(p, "total_memory", 0)),
                }
            )
        except Exception as err:
            devices.append({"index": i, "error": str(err)[:300]})
    emit(check="gpu", count=count, available=available, devices=devices)
    if count and os.environ.get("HWDOCK_KERNEL", "1") == "1":
        try:
            x = torch.arange(1024, device="cuda", dtype=torch.float32)
            value = float((x * 2).sum().item())
            torch.cuda.synchronize()
            emit(check="kernel", ok=value == 1047552.0, value=value)
        except Exception as err:
            emit(check="kernel", ok=False, error=str(err)[:500])


main()
