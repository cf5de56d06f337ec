import json, glob, os
T=16
rows=[]
for f in sorted(glob.glob('probe_out/*.json')):
    r=json.load(open(f)); n=os.path.basename(f)[:-5]
    if not r.get('build_ok'):
        rows.append((n, r.get('model_type'), 'NO', '', '', '', '', '', '')); continue
    c=r['params_by_category']; tc=r['text_config_resolved']
    E=tc.get('num_local_experts') or tc.get('n_routed_experts') or tc.get('num_experts')
    k=tc.get('num_experts_per_tok') or tc.get('top_k_experts')
    routed=c.get('routed_experts',0)
    tied='lm_head' not in c
    mat=r['params_total']-c.get('vision/mm',0)-(0 if tied else c.get('embedding',0))
    if routed and E and k: mat -= routed*(1-k/E)
    exp=2*T*mat
    fl=r['flops']
    def g(key):
        v=fl.get(key)
        if not v: return ''
        return f"{v['total_flops']/1e9:.1f}" if v.get('ok') else 'fail'
    rows.append((n, r.get('model_type'), r['model_class'], f"{r['params_total']/1e9:.3f}", f"{exp/1e9:.1f}", g('default'), g('batched_mm'), g('eager'), json.dumps(r.get('experts_implementation_default',{}).get('',None) if isinstance(r.get('experts_implementation_default'),dict) else None)))
print("| folder | model_type | class built | params (B) | analytic 2·T·active (GFLOP, T=16) | FlopCounter default | batched_mm | eager | default experts impl |")
print("|---|---|---|---|---|---|---|---|---|")
for x in rows: print("| "+" | ".join(x)+" |")
