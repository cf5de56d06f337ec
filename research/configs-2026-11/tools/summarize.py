import json, glob, os, sys
rows=[]
for f in sorted(glob.glob('probe_out/*.json')):
    r=json.load(open(f))
    name=os.path.basename(f)[:-5]
    fl=r.get('flops',{})
    def g(k):
        v=fl.get(k)
        if not v: return '-'
        if v.get('ok'): return f"{v['total_flops']/1e9:.1f}G"
        return 'FAIL:'+ (v.get('error') or v.get('set_impl_error') or '')[:60]
    rows.append((name, r.get('model_type'), r.get('config_ok'), r.get('build_ok'), r.get('build_via'), r.get('model_class'),
                 r.get('params_total'), r.get('n_layers'), r.get('attn_implementation'), json.dumps(r.get('experts_implementation_default')),
                 g('default'), g('default+sdpa') if 'default+sdpa' in fl else g('default+eager'), g('batched_mm'), g('eager'), g('eager_assume_nonzero'),
                 (r.get('config_error') or json.dumps(r.get('build_errors') or {}))[:300]))
for row in rows:
    print(' | '.join(str(x) for x in row))
