"""`hwdock fleet plan`: many hosts → the smallest sensible set of image variants → one bake file
and Kubernetes manifests that place each variant only on the nodes it fits.

- `needs`: what each host's image must have (platform, gfx target / compute capability, driver
  class, CPU architecture and ISA): pure over `HostReport`s.
- `cost`: groups hosts with equal needs, then merges groups into fat images where the cost
  model (knowledge/data/fleet_costs.toml) says that is cheaper in total.
- `labels`: node affinity from the labels the GPU operators and NFD publish.
- `inventory`: reads `hwdock probe --json` reports (and captures) with clear errors.
- `plan`: ties them together with a planner (`hwdock.plan.make_plan`) per variant.
"""
