#!/bin/bash
# Probe every collected config, one subprocess each, with a timeout. Offline, no remote code.
cd /work/staging/models
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PROBE_SDPA=1
PY=/work/main/.venv/bin/python
mkdir -p probe_out
for d in */; do
  d=${d%/}; [ -f "$d/config.json" ] || continue
  [ -n "$ONLY" ] && [[ "$d" != $ONLY ]] && continue
  extra=""
  mt=$(python3 -c "import json;print(json.load(open('$d/config.json')).get('model_type'))")
  echo "=== $d ($mt) $(date +%T)"
  timeout 900 nice -n 10 $PY tools/probe.py "$d" "probe_out/$d.json" > "probe_out/$d.log" 2>&1; echo "rc=$?"
  if [ "$mt" = "kimi_k2" ]; then
    timeout 900 nice -n 10 $PY tools/probe.py "$d" "probe_out/$d.as_deepseek_v3.json" --alias-model-type deepseek_v3 > "probe_out/$d.as_deepseek_v3.log" 2>&1; echo "alias rc=$?"
  fi
done
echo DONE
