import subprocess, yaml, csv, sys, re
R='/work/.mirror/quic+ai-hub-models/repo'
def sh(*a): return subprocess.run(['git','-C',R]+list(a),capture_output=True,text=True).stdout
rows=[]
def url(c,f): return f'https://github.com/quic/ai-hub-models/blob/{c}/{f}'
def add(c,f,model,prec,dev,chip,ctx,ttmin,ttmax,tps,ver):
    base=dict(source_id=f'qaihm_{ver}',source_url=url(c,f),engine='Qualcomm Genie (QNN, NPU)',engine_version=f'ai-hub-models {ver}',device=f'{dev} ({chip})',model=model,bits=prec,batch=1)
    n=f'Qualcomm AI Hub perf.yaml. TTFT range: lower bound = prompt <=128 tokens (one prompt-processor iteration), upper bound = prompt filling full context ({ctx} tokens) per info.yaml. Response rate = tokens/s after first token.'
    rows.append({**base,'prompt_len':'<=128','gen_len':'','metric':'ttft_min','value':ttmin,'unit':'s','notes':n})
    rows.append({**base,'prompt_len':ctx,'gen_len':'','metric':'ttft_max','value':ttmax,'unit':'s','notes':n})
    rows.append({**base,'prompt_len':'','gen_len':'','metric':'decode_tok_s','value':tps,'unit':'tok/s','notes':n+' (context length '+str(ctx)+')'})
    if ttmax and ctx:
        rows.append({**base,'prompt_len':ctx,'gen_len':'','metric':'prefill_tok_s_DERIVED','value':round(ctx/ttmax,1),'unit':'tok/s','notes':f'DERIVED = {ctx} tokens / TTFT max {ttmax} s (assumes upper TTFT bound is a full {ctx}-token prompt, as info.yaml states)'})
# HEAD format
c=sh('rev-parse','HEAD').strip()
files=[f for f in sh('ls-tree','-r','--name-only',c).split() if f.endswith('/perf.yaml') and '/models/' in f]
for f in files:
    d=yaml.safe_load(sh('show',f'{c}:{f}'))
    if not d or 'precisions' not in d: continue
    for prec,pd in d['precisions'].items():
        for comp,cd in pd.get('components',{}).items():
            for dev,rd in cd.get('performance_metrics',{}).items():
                for rt,m in rd.items():
                    for lm in (m.get('llm_metrics') or []) if isinstance(m,dict) else []:
                        t=lm['time_to_first_token_range_milliseconds']
                        add(c,f,comp,prec,dev,'',lm['context_length'],round(t['min']/1000,4),round(t['max']/1000,4),lm['tokens_per_second'],'v0.46.1')
# old format v0.24.2 (Galaxy S24 rows duplicate HEAD; kept only when SKIP_OLD=False)
SKIP_OLD=True
c2=None
if not SKIP_OLD:
    c2=sh('rev-parse','bc38fa05').strip()
    files=[f for f in sh('ls-tree','-r','--name-only',c2).split() if f.endswith('/perf.yaml') and '/models/' in f]
    for f in files:
        txt=sh('show',f'{c2}:{f}')
        if 'llm_metrics' not in txt: continue
        info=yaml.safe_load(sh('show',f'{c2}:'+f.replace('perf.yaml','info.yaml'))) or {}
        td=info.get('technical_details',{})
        ctx=None
        for k,v in td.items():
            if 'context length' in k.lower(): ctx=int(re.sub(r'\D','',str(v)) or 0)
        d=yaml.safe_load(txt)
        ms=d['models']; ms=ms if isinstance(ms,list) else [ms]
        for m in ms:
            for pm in m['performance_metrics']:
                lm=pm['torchscript_onnx_qnn']['llm_metrics']; t=lm['time_to_first_token_range']
                di=pm['reference_device_info']
                if 'Gen 3' not in di['chipset']: continue   # only take the 8 Gen 3 rows from the old version
                add(c2,f,m['name'],'w4a16 (per info.yaml)',di['name'],di['chipset'],ctx,round(t['min']/1e6,4),round(t['max']/1e6,4),lm['tokens_per_second'],'v0.24.2')

w=csv.DictWriter(sys.stdout,fieldnames=['source_id','source_url','engine','engine_version','device','model','bits','prompt_len','gen_len','batch','metric','value','unit','notes'])
w.writeheader(); [w.writerow(r) for r in rows]

# post-processing used for measurements.csv (device naming; drop Llama-3-8B fine-tunes with copied numbers)
