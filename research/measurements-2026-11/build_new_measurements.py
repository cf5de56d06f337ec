"""Writes new_measurements.csv from numbers transcribed by hand from the sources in SOURCES.md.

Every literal `value` below is the number printed in the source (thousands separators
dropped). Latencies printed in ms are converted to s with exact decimal arithmetic and
the printed ms value is kept in `notes`.
"""

import csv
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = ("id,source_id,source_url,engine,engine_version,model,model_config,device,num_devices,"
           "tensor_parallel,precision,w_bit,a_bit,kv_bit,batch_size,input_len,output_len,metric,"
           "value,unit,notes").split(",")
FIRST_ID = 548  # existing file ends at m0547

rows = []


def add(**kw):
    row = {c: "" for c in COLUMNS}
    for k, v in kw.items():
        assert k in COLUMNS, k
        row[k] = "" if v is None else str(v)
    rows.append(row)


def ms_to_s(ms: str) -> str:
    s = Decimal(ms) / Decimal(1000)
    return format(s.normalize(), "f")


# ---------------------------------------------------------------- 1. Intel Gaudi 2 (SynapseAI 1.18.0)
G2_URL = "https://intel.com/content/www/us/en/developer/platform/gaudi/model-performance-gaudi2-inference.html"
G3_URL = "https://intel.com/content/www/us/en/developer/platform/gaudi/model-performance.html"
GAUDI_ENGINE = "Intel Gaudi software stack (PyTorch; serving framework not named on the page)"
GAUDI_MODELS = {
    "LLaMA 2 7b": ("Llama-2-7B", "Llama-2-7b-hf", ""),
    "LLaMA 2 70b": ("Llama-2-70B", "Llama-2-70b-hf", ""),
    "Mistral 7b": ("Mistral-7B", "Mistral-7B-v0.1",
                   " Source says only 'Mistral 7b' (version not stated); mapped to Mistral-7B-v0.1 per dataset convention."),
    "LLaMA 3.1 8B": ("Llama-3.1-8B", "Llama-3.1-8B", ""),
    "LLaMA 3.1 70B": ("Llama-3.1-70B", "Llama-3.1-70B", ""),
}


def gaudi_common(n_hpu):
    tp = 1 if n_hpu == 1 else None
    tp_note = ("" if n_hpu == 1 else
               f" {n_hpu} HPUs; the page gives only '# HPU' (tensor-parallel vs data-parallel split not stated), so tensor_parallel is left empty.")
    return tp, tp_note


def gaudi_throughput(src, url, device, sw, system, table):
    for name, entries in table:
        model, cfg, mnote = GAUDI_MODELS[name]
        for n_hpu, isl, osl, bs, thr in entries:
            tp, tp_note = gaudi_common(n_hpu)
            add(source_id=src, source_url=url, engine=GAUDI_ENGINE, engine_version=sw, model=model,
                model_config=cfg, device=device, num_devices=n_hpu, tensor_parallel=tp, precision="FP8",
                w_bit=8, a_bit=8, kv_bit=8, batch_size=bs, input_len=isl, output_len=osl,
                metric="output_throughput_tok_s", value=thr, unit="tok/s",
                notes=("Table 'Large Language Models (LLM) for Throughput'; column 'Throughput (tokens/sec)', "
                       "read as generated (output) tokens/s of the whole run: a total-token reading would be ~17x "
                       "larger for 2048-in/128-out rows. Static batch of the stated size (column 'Batch Size'). "
                       "Precision column 'fp8'; KV-cache dtype not printed, kv_bit=8 per dataset FP8 convention "
                       "(for the largest-batch rows a BF16 KV cache would not fit in HBM)."
                       + tp_note + mnote + f" System: {system}."))


G2_SYSTEM = "HLS-Gaudi2, 8x HL-225H, 2x Xeon Platinum 8380, Ubuntu 22.04, PyTorch 2.4.0"
G3_SYSTEM = "HLS-Gaudi3, 8x HL-325L, 2x Xeon Platinum 8480+, Ubuntu 22.04, PyTorch 2.4.0"

gaudi_throughput("intel_gaudi2_perf_1.18", G2_URL, "Gaudi2-96GB", "Intel Gaudi software 1.18.0", G2_SYSTEM, [
    ("LLaMA 2 7b", [(1, 128, 128, 1230, 13137), (1, 128, 2048, 163, 4791), (1, 2048, 128, 94, 1449), (1, 2048, 2048, 81, 1953)]),
    ("LLaMA 2 70b", [(2, 128, 128, 1750, 2844), (4, 128, 2048, 327, 3211), (2, 2048, 128, 95, 310), (2, 2048, 2048, 78, 1438)]),
    ("Mistral 7b", [(1, 128, 128, 896, 18023), (1, 128, 2048, 120, 11294), (1, 2048, 128, 120, 1427), (1, 2048, 2048, 44, 3947)]),
    ("LLaMA 3.1 8B", [(1, 128, 128, 2429, 18201), (1, 128, 2048, 289, 11138), (1, 2048, 128, 179, 2028), (1, 2048, 2048, 155, 5511)]),
])

for name, n_hpu, isl, ms in [("LLaMA 2 7b", 1, 128, "7.62"), ("LLaMA 2 7b", 1, 2048, "56.31"),
                             ("LLaMA 2 70b", 8, 128, "26.93"), ("LLaMA 2 70b", 8, 2048, "116"),
                             ("LLaMA 3.1 8B", 1, 128, "8.17"), ("LLaMA 3.1 8B", 1, 2048, "60.52")]:
    model, cfg, mnote = GAUDI_MODELS[name]
    tp, tp_note = gaudi_common(n_hpu)
    add(source_id="intel_gaudi2_perf_1.18", source_url=G2_URL, engine=GAUDI_ENGINE,
        engine_version="Intel Gaudi software 1.18.0", model=model, model_config=cfg, device="Gaudi2-96GB",
        num_devices=n_hpu, tensor_parallel=tp, precision="FP8", w_bit=8, a_bit=8, kv_bit=8, batch_size=1,
        input_len=isl, output_len=1, metric="ttft_s", value=ms_to_s(ms), unit="s",
        notes=(f"interpretation: converted from 'Latency (ms)' {ms} in table 'LLM for Low Latency'. The table gives only "
               "input length and batch size 1 (no output length); read as first-token (prefill) latency because it "
               "grows ~7x from 128 to 2048 input tokens, which a per-token decode latency would not. output_len=1 is "
               "that reading, not printed. kv_bit=8 per dataset FP8 convention (not printed)." + tp_note
               + f" System: {G2_SYSTEM}."))

# ---------------------------------------------------------------- 2. Intel Gaudi 3 (SynapseAI 1.18.0)
gaudi_throughput("intel_gaudi3_perf_1.18", G3_URL, "Gaudi3-128GB", "Intel Gaudi software 1.18.0", G3_SYSTEM, [
    ("LLaMA 2 7b", [(1, 128, 128, 1536, 19810), (1, 128, 2048, 217, 6763), (1, 2048, 128, 153, 2029), (1, 2048, 2048, 75, 2734)]),
    ("LLaMA 2 70b", [(2, 128, 128, 1750, 4433), (2, 128, 2048, 512, 6026), (2, 2048, 128, 231, 498), (2, 2048, 2048, 240, 2641)]),
    ("LLaMA 3.1 8B", [(1, 128, 128, 1536, 24310), (1, 128, 2048, 768, 18830), (1, 2048, 128, 256, 2652), (1, 2048, 2048, 364, 7405)]),
    ("LLaMA 3.1 70B", [(2, 128, 128, 3516, 3711), (2, 128, 2048, 450, 5776), (2, 2048, 128, 223, 497), (2, 2048, 2048, 175, 2588)]),
    ("LLaMA 3.1 70B", [(8, 128, 128, 4000, 15008), (8, 128, 2048, 600, 15711), (8, 2048, 128, 400, 1600), (8, 2048, 2048, 600, 8946)]),
    ("Mistral 7b", [(1, 128, 128, 896, 24433), (1, 128, 2048, 120, 13726), (1, 2048, 128, 120, 2085), (1, 2048, 2048, 44, 4970)]),
])

# ---------------------------------------------------------------- 3. AMD Instinct performance results (vLLM on 8x MI300X)
AMD_SRC = "amd_instinct_perf_results_vllm"
AMD_VERSIONS = [
    # (container tag, release date, url where this snapshot was read, host note, 70B x4, 405B x4)
    ("rocm/vllm:rocm6.3.1_instinct_vllm0.8.3_20250410", "released 2025-04-13",
     "https://amd.com/zh-cn/developer/resources/rocm-hub/dev-ai/performance-results.html",
     "host GPU driver ROCm 6.2.2 + amdgpu 6.8.5",
     ("16364.9", "12171.0", "13290.4", "8216.5"), ("4331.6", "3409.9", "3184.0", "2154.3")),
    ("rocm/vllm:rocm6.4.1_vllm_0.9.0.1_20250605", "released 2025-06-18",
     "https://www.amd.com/en/developer/resources/rocm-hub/dev-ai/performance-results.html",
     "host GPU driver ROCm 6.4.1 + amdgpu 6.8.5",
     ("16581.5", "13667.3", "13367.1", "8352.6"), ("4275", "3356.7", "3201.4", "2179.7")),
    ("rocm/vllm:rocm6.4.1_vllm_0.9.1_20250715", "released 2025-07-16",
     "https://www.amd.com/en/developer/resources/rocm-hub/dev-ai/performance-results.html",
     "host GPU driver ROCm 6.4.1 + amdgpu 6.8.5",
     ("12638.9", "10756.8", "10691.7", "7354.9"), ("3912.8", "3084.7", "2935.9", "2191.5")),
    ("rocm/vllm:rocm6.4.1_vllm_0.10.1_20250909", "released 2025-09-09",
     "https://www.amd.com/fr/developer/resources/rocm-hub/dev-ai/performance-results.html",
     "host GPU driver ROCm 6.4.1 + amdgpu 6.8.5",
     ("13818.7", "11612.0", "11408.7", "7800.5"), ("4134.0", "3177.6", "3034.1", "2214.2")),
    ("rocm/vllm:rocm7.0.0_vllm_0.10.2_20251006", "released 2025-10-06",
     "https://www.amd.com/zh-cn/developer/resources/rocm-hub/dev-ai/performance-results.html",
     "amdgpu driver 6.8.5",
     ("13212.5", "11312.8", "11376.7", "7252.1"), ("4201.7", "3176.3", "2992.0", "2153.7")),
    ("rocm/vllm:rocm7.0.0_vllm_0.11.1_20251103", "released 2025-11-03",
     "https://www.amd.com/ja/developer/resources/rocm-hub/dev-ai/performance-results.html",
     "amdgpu driver 6.8.5",
     ("13279.6", "11449.7", "11347.4", "7651.7"), ("3816.8", "3099.6", "3026.1", "2196.4")),
]
AMD_SHAPES_70B = [(128, 2048, 3200), (128, 4096, 1500), (500, 2000, 2000), (2048, 2048, 1500)]
AMD_SHAPES_405B = [(128, 2048, 1500), (128, 4096, 1500), (500, 2000, 2000), (2048, 2048, 500)]
AMD_LATENCY = {  # container -> [(batch, seconds)] for Llama 3.1 70B FP8, TP8, 128 in / 2048 out (rows fully visible only)
    "rocm/vllm:rocm6.4.1_vllm_0.9.1_20250715": [(1, "17.236"), (2, "18.057")],
    "rocm/vllm:rocm6.4.1_vllm_0.10.1_20250909": [(1, "15.254"), (2, "18.157"), (4, "18.549")],
    "rocm/vllm:rocm7.0.0_vllm_0.10.2_20251006": [(1, "15.882"), (2, "17.934"), (4, "18.487")],
}
AMD_SERVER = "Dual EPYC 9554 server, 8x MI300X (192GB HBM3, 750W), 1 NUMA node per socket"
for tag, rel, url, host, v70, v405 in AMD_VERSIONS:
    snap = (f"Page snapshot for container {tag} ({rel}); the page URL is overwritten at each release, so this "
            f"number belongs to that snapshot only. {AMD_SERVER}, {host}.")
    for (model, cfg, ckpt, shapes, vals) in [
            ("Llama-3.1-70B-Instruct", "Llama-3.1-70B", "amd/Llama-3.1-70B-Instruct-FP8-KV", AMD_SHAPES_70B, v70),
            ("Llama-3.1-405B-Instruct", "Llama-3.1-405B", "amd/Llama-3.1-405B-Instruct-FP8-KV", AMD_SHAPES_405B, v405)]:
        for (isl, osl, n), val in zip(shapes, vals):
            add(source_id=AMD_SRC, source_url=url, engine="vLLM (ROCm)", engine_version=tag, model=model,
                model_config=cfg, device="MI300X-192GB", num_devices=8, tensor_parallel=8, precision="FP8",
                w_bit=8, a_bit=8, kv_bit=8, batch_size=None, input_len=isl, output_len=osl,
                metric="output_throughput_tok_s", value=val, unit="tok/s",
                notes=(f"interpretation: column 'Throughput (tokens/s)'; AMD's MAD report computes both throughput_tot "
                       f"(input+output) and throughput_gen (output) and the page does not say which it prints. Read as "
                       f"output tokens/s because the 128/2048 : 2048/2048 ratio (~2.0) matches output-token behaviour "
                       f"(TRT-LLM v0.17 H200 rows: 1.9-2.0; a total-token reading would imply 3.75). Checkpoint {ckpt} "
                       f"(FP8 weights/activations, FP8 KV-cache scales). Requests fed at an infinite rate; Num Prompts = "
                       f"Max Num Seqs = {n}, batch not fixed (max batch / offline). " + snap))
    for bs, sec in AMD_LATENCY.get(tag, []):
        add(source_id=AMD_SRC, source_url=url, engine="vLLM (ROCm)", engine_version=tag,
            model="Llama-3.1-70B-Instruct", model_config="Llama-3.1-70B", device="MI300X-192GB", num_devices=8,
            tensor_parallel=8, precision="FP8", w_bit=8, a_bit=8, kv_bit=8, batch_size=bs, input_len=128,
            output_len=2048, metric="e2e_latency_s", value=sec, unit="s",
            notes=("'Latency (sec)' from the page's 'Latency Measurements' table (time to produce the whole result "
                   "for a fixed batch, vLLM benchmark_latency style). Checkpoint amd/Llama-3.1-70B-Instruct-FP8-KV. "
                   "Only the rows fully visible in the stored page text were taken; larger batches and the 405B rows "
                   "were cut off. " + snap))

# ---------------------------------------------------------------- 4. Oracle OCI blog: Llama 3.1 405B FP8 on 8x MI300X
ORA_URL = "https://blogs.oracle.com/cloud-infrastructure/post/serving-llama-31-405b-model-with-amd-mi300x-gpus"
ORA_COMMON = ("OCI BM.GPU.MI300X.8 (8x MI300X), single model instance on all eight GPUs; tensor_parallel=8 inferred "
              "(vLLM offline scripts shard one instance by tensor parallelism; the TP flag is not printed). "
              "Blog dated 2024-10-10; vLLM version and KV-cache dtype not stated in the stored text; kv_bit=8 per "
              "dataset FP8 convention.")
for bs, sec in [(1, "3.530"), (2, "3.583"), (4, "3.734"), (8, "3.974"), (16, "4.375"), (32, "5.130"),
                (64, "6.919"), (128, "10.340"), (256, "17.750")]:
    add(source_id="oracle_oci_mi300x_llama31_405b", source_url=ORA_URL, engine="vLLM (ROCm)",
        engine_version="not stated (Oct 2024)", model="Llama-3.1-405B (FP8)", model_config="Llama-3.1-405B",
        device="MI300X-192GB", num_devices=8, tensor_parallel=8, precision="FP8", w_bit=8, a_bit=8, kv_bit=8,
        batch_size=bs, input_len=128, output_len=128, metric="e2e_latency_s", value=sec, unit="s",
        notes=("'Average latency in seconds' from vLLM benchmark_latency.py, fixed batch, input 128 / output 128. "
               "The table's 'Output throughput in TPS' column equals batch*128/latency (rounded) and was not added. "
               + ORA_COMMON))
for isl, osl, tps in [(128, 128, 1993), (128, 2048, 2794)]:
    add(source_id="oracle_oci_mi300x_llama31_405b", source_url=ORA_URL, engine="vLLM (ROCm)",
        engine_version="not stated (Oct 2024)", model="Llama-3.1-405B (FP8)", model_config="Llama-3.1-405B",
        device="MI300X-192GB", num_devices=8, tensor_parallel=8, precision="FP8", w_bit=8, a_bit=8, kv_bit=8,
        batch_size=None, input_len=isl, output_len=osl, metric="output_throughput_tok_s", value=tps, unit="tok/s",
        notes=("'Output throughput in TPS' from vLLM benchmark_throughput.py (offline, all prompts submitted at once; "
               "number of prompts not stated; max batch / offline). The third scenario row (2048-token input) was cut "
               "off in the stored text and is not included. " + ORA_COMMON))

# ---------------------------------------------------------------- 5. SGLang v0.3.0 vs vLLM v0.6.0 (sglang repo README)
SGL_URL = ("https://github.com/sgl-project/sglang/blob/120affb9613cc3f5bcd055ec09c7621d3ced0ebc/"
           "benchmark/benchmark_vllm_060/README.md")
SGL_SETUPS = {
    "a100": dict(model="Llama-3.1-8B-Instruct", model_config="Llama-3.1-8B", device="A100-unspecified",
                 num_devices=1, tensor_parallel=1, dev_note="Source says '1 x A100 80G' (form factor not stated)."),
    "h100": dict(model="Llama-3.1-70B-Instruct", model_config="Llama-3.1-70B", device="H100-80GB-unspecified",
                 num_devices=4, tensor_parallel=4, dev_note="Source says '4 x H100 80G' (form factor not stated); --tp 4."),
}
SGL_ENGINES = {
    "SGLang": ("SGLang", "0.3.0", "SGLang server with --disable-radix-cache (8B: also --enable-torch-compile; 70B offline: --mem-frac 0.88)."),
    "vLLM": ("vLLM", "0.6.0", "vLLM OpenAI server with --num-scheduler-steps 10 --max_model_len 4096 (gpu_memory_utilization 0.9 at TP1, 0.88 at TP4)."),
}
SGL_PREC = ("Precision not printed: no --dtype/--quantization flag in the launch commands, so the BF16 checkpoint "
            "dtype applies (inferred).")
for setup, rps, n, eng, e2e, ttft, tpot in [
        ("a100", 4, 1200, "SGLang", "1564.17", "31.98", "13.17"), ("a100", 4, 1200, "vLLM", "1691.97", "100.48", "14.14"),
        ("a100", 8, 2400, "SGLang", "2175.02", "35.68", "17.85"), ("a100", 8, 2400, "vLLM", "2137.16", "120.39", "17.09"),
        ("h100", 4, 1200, "SGLang", "3005.24", "53.94", "25.03"), ("h100", 4, 1200, "vLLM", "2915.60", "179.15", "23.58"),
        ("h100", 8, 2400, "SGLang", "4064.98", "58.11", "33.07"), ("h100", 8, 2400, "vLLM", "3752.38", "207.12", "29.15")]:
    s = SGL_SETUPS[setup]
    engine, ver, eng_note = SGL_ENGINES[eng]
    for metric, ms, label in [("e2e_latency_s", e2e, "Median E2E Latency"), ("ttft_s", ttft, "Median TTFT"),
                              ("tpot_s", tpot, "Median TPOT")]:
        add(source_id="sglang_vs_vllm_060_readme", source_url=SGL_URL, engine=engine, engine_version=ver,
            model=s["model"], model_config=s["model_config"], device=s["device"], num_devices=s["num_devices"],
            tensor_parallel=s["tensor_parallel"], precision="BF16", w_bit=16, a_bit=16, kv_bit=16,
            batch_size=None, input_len=None, output_len=None, metric=metric, value=ms_to_s(ms), unit="s",
            notes=(f"Converted from {label} {ms} ms (median over requests, not mean). Online run: sglang.bench_serving, "
                   f"ShareGPT dataset (variable input/output lengths), {n} prompts at {rps} requests/s (Poisson); "
                   f"batch varies with arrivals, includes queueing. {eng_note} {SGL_PREC} {s['dev_note']} "
                   f"Median ITL also printed but not added (multi-step scheduling makes vLLM's ITL a chunk interval)."))
for setup, eng, thr in [("a100", "SGLang", "4281.51"), ("a100", "vLLM", "4132.37"),
                        ("h100", "SGLang", "3856.01"), ("h100", "vLLM", "3700.64")]:
    s = SGL_SETUPS[setup]
    engine, ver, eng_note = SGL_ENGINES[eng]
    add(source_id="sglang_vs_vllm_060_readme", source_url=SGL_URL, engine=engine, engine_version=ver,
        model=s["model"], model_config=s["model_config"], device=s["device"], num_devices=s["num_devices"],
        tensor_parallel=s["tensor_parallel"], precision="BF16", w_bit=16, a_bit=16, kv_bit=16,
        batch_size=None, input_len=None, output_len=None, metric="output_throughput_tok_s", value=thr, unit="tok/s",
        notes=(f"'Output token throughput', offline run: sglang.bench_serving, ShareGPT dataset (variable lengths), "
               f"5000 prompts at request rate inf (max batch / offline). {eng_note} {SGL_PREC} {s['dev_note']}"))

# ---------------------------------------------------------------- 6. MLC llm-perf-bench README (batch-1 decode)
MLC_URL = "https://github.com/mlc-ai/llm-perf-bench/blob/d401356f84fa9cfb564b353ca39fb31cc47d61ea/README.md"
MLC_BLOG = "mlc.ai/blog 2023-10-19 'Scalable Language Model Inference on Multiple NVIDIA and AMD GPUs'"
MLC_ENG = {
    "MLC": ("MLC LLM", "mlc-llm 8e94910e + TVM relax e5ca38dd (2023-10-04), CUDA 12.1"),
    "EXL": ("ExLlamaV2", "9d6fdb95 (2023-10-05), CUDA 12.1"),
    "CPP": ("llama.cpp (main, CUDA)", "9476b012 (2023-10-02), cuBLAS, LLAMA_CUDA_F16=1, CUDA 12.1"),
    "VLLM": ("vLLM", "acbed3ef (2023-10-06), CUDA 11.8"),
}
MLC_PREC = {  # (engine, fp16?) -> precision, w_bit, note
    ("MLC", False): ("W4A16-q4f16_1", 4, "MLC q4f16_1 (4-bit weights in groups of 32 with FP16 scales, ~4.5 bits/weight); mlc-ai prebuilt Llama-2-*-chat-hf-q4f16_1 weights."),
    ("MLC", True): ("FP16", 16, "MLC q0f16 (unquantized FP16)."),
    ("EXL", False): ("W4A16-GPTQ", 4, "TheBloke Llama-2-*-GPTQ 4-bit checkpoints (main branch; group size / act-order per that repo, not restated in the README)."),
    ("CPP", False): ("Q4_0", 4, "TheBloke llama-2-*-chat.Q4_0.gguf (~4.5 bits/weight incl. scales)."),
    ("CPP", True): ("F16", 16, "FP16 GGUF converted with llama.cpp convert.py."),
    ("VLLM", False): ("W4A16-AWQ-g128", 4, "vLLM --quantization awq with a TheBloke AWQ checkpoint (4-bit, group 128)."),
    ("VLLM", True): ("FP16", 16, "TheBloke/Llama-2-*-fp16 weights, FP16."),
}
MLC_METRIC_NOTE = {
    "MLC": "mlc_chat.cli.benchmark decode tok/s.",
    "EXL": "exllamav2 test_inference.py -t 256 speed.",
    "CPP": "llama.cpp ./main -n 256 -ngl 999 --ignore-eos, eval (generation) tok/s.",
    "VLLM": "vLLM benchmark_latency.py --batch-size 1 --input-len 7 --output-len 256, printed as output_len / mean latency (so the 7-token prefill is included).",
}


def mlc(eng, fp16, model, cfg, device, n, val, table):
    name, ver = MLC_ENG[eng]
    prec, wbit, pnote = MLC_PREC[(eng, fp16)]
    if n == 1:
        tp, tpnote = 1, ""
    elif eng in ("MLC", "VLLM"):
        tp, tpnote = n, f" Tensor parallel over {n} GPUs (MLC --num-shards / vLLM --tensor-parallel-size)."
    elif eng == "EXL":
        tp, tpnote = None, f" {n} GPUs with ExLlamaV2 -gs (layer split across GPUs, not tensor parallel); tensor_parallel left empty."
    else:
        tp, tpnote = None, f" {n} GPUs via CUDA_VISIBLE_DEVICES; llama.cpp multi-GPU split mode not stated; tensor_parallel left empty."
    dev_note = ("" if device.startswith("RTX") else
                f" Device: the README says 'A100 x {n}'; the companion {MLC_BLOG} names the parts A100-80G-PCIe (no NVLink).")
    col = " Column headed 'exllama' (the README's instructions use ExLlamaV2)." if (eng == "EXL" and table == "multi4") else ""
    add(source_id="mlc_llm_perf_bench", source_url=MLC_URL, engine=name, engine_version=ver, model=model,
        model_config=cfg, device=device, num_devices=n, tensor_parallel=tp, precision=prec, w_bit=wbit, a_bit=16,
        kv_bit=16, batch_size=1, input_len=7, output_len=256, metric="decode_throughput_tok_s", value=val,
        unit="tok/s",
        notes=(f"Batch 1, prompt 'What is the meaning of life?' (input_len 7 = token count stated in the README's vLLM "
               f"command; prompt-template handling of other engines not stated), 256 generated tokens, fp16 activations. "
               f"{MLC_METRIC_NOTE[eng]} {pnote}{tpnote}{dev_note}{col} Chat variants (Llama-2-*-chat) have the base shapes. "
               f"PCIe systems, no NVLink."))


for model, cfg, vals in [("Llama-2-7B-chat", "Llama-2-7b-hf", ("204.8", "177.46", "151.1")),
                         ("Llama-2-13B-chat", "Llama-2-13b-hf", ("113.5", "105.94", "88.0"))]:
    for eng, v in zip(("MLC", "EXL", "CPP"), vals):
        mlc(eng, False, model, cfg, "RTX-4090-24GB", 1, v, "single4")
for n, vals in [(2, ("17.0", "10.46", "15.27")), (4, ("26.6", "11.07", "17.64")), (8, ("38.8", "9.37", "14.32"))]:
    for eng, v in zip(("MLC", "CPP", "VLLM"), vals):
        mlc(eng, True, "Llama-2-70B", "Llama-2-70b-hf", "A100-PCIe-80GB", n, v, "multi16")
for dev, n, vals in [("A100-PCIe-80GB", 2, ("40.9", "32.64", "17.35", "21.4")),
                     ("A100-PCIe-80GB", 4, ("55.8", "30.36", "15.45", "21.36")),
                     ("A100-PCIe-80GB", 8, ("59.4", "32.23", "11.2", "17.6")),
                     ("RTX-4090-24GB", 2, ("34.5", "24.39", "17.55", "23.8"))]:
    for eng, v in zip(("MLC", "EXL", "CPP", "VLLM"), vals):
        mlc(eng, False, "Llama-2-70B-chat", "Llama-2-70b-hf", dev, n, v, "multi4")

# ---------------------------------------------------------------- 7. ExLlamaV2 README performance table (RTX 4090)
EXL_URL = "https://github.com/turboderp/exllamav2/blob/373bcc187e59fffb0ae97dd7cf812306a43cea96/README.md"
EXL_NOTE = ("README 'Performance' table ('quick tests'), RTX 4090 column; last updated in commit 373bcc18 (2024-08-17, "
            "exllamav2 0.1.8). Generation speed at batch 1 (single-stream tests); prompt/context length and number of "
            "generated tokens not stated, so this row cannot be modelled exactly. FP16 KV cache (library default). "
            "The 3090 Ti column was not added (device not in the hardware library).")
for model, cfg, prec, wbit, val, extra in [
        ("LLaMA 7B", "Llama-2-7b-hf", "W4A16-GPTQ-g128", 4, 205,
         " GPTQ 4-bit, group size 128, no act-order. 'Llama 7B' (LLaMA-1) mapped to Llama-2-7b-hf per dataset convention (same shapes)."),
        ("LLaMA 13B", "Llama-2-13b-hf", "W4A16-GPTQ-g128", 4, 114,
         " GPTQ 4-bit, group size 128, no act-order. 'Llama 13B' (LLaMA-1) has the same shapes as Llama-2-13B."),
        ("Llama-2-7B", "Llama-2-7b-hf", "EXL2-3.0bpw", 3, 257, " EXL2 at 3.0 bits/weight average (mixed per-layer bit widths)."),
        ("Llama-2-7B", "Llama-2-7b-hf", "EXL2-4.0bpw", 4, 211, " EXL2 at 4.0 bits/weight average (mixed per-layer bit widths)."),
        ("Llama-2-7B", "Llama-2-7b-hf", "EXL2-5.0bpw", 5, 179, " EXL2 at 5.0 bits/weight average (mixed per-layer bit widths)."),
        ("Llama-2-70B", "Llama-2-70b-hf", "EXL2-2.5bpw", None, 38,
         " EXL2 at 2.5 bits/weight average; w_bit left empty because the average is not an integer (use 2.5 for byte counts)."),
        ("TinyLlama-1.1B", "TinyLlama-1.1B-Chat-v1.0", "EXL2-3.0bpw", 3, 770,
         " EXL2 3.0 bpw. Which TinyLlama checkpoint is not stated; all TinyLlama-1.1B releases share the shipped config's shapes."),
        ("TinyLlama-1.1B", "TinyLlama-1.1B-Chat-v1.0", "EXL2-4.0bpw", 4, 700,
         " EXL2 4.0 bpw. Which TinyLlama checkpoint is not stated; all TinyLlama-1.1B releases share the shipped config's shapes.")]:
    add(source_id="exllamav2_readme_perf", source_url=EXL_URL, engine="ExLlamaV2", engine_version="0.1.8 (commit 373bcc18)",
        model=model, model_config=cfg, device="RTX-4090-24GB", num_devices=1, tensor_parallel=1, precision=prec,
        w_bit=wbit, a_bit=16, kv_bit=16, batch_size=1, input_len=None, output_len=None,
        metric="decode_throughput_tok_s", value=val, unit="tok/s", notes=EXL_NOTE + extra)

# ---------------------------------------------------------------- 8. TensorRT-LLM on Jetson AGX Orin (README4Jetson)
JET_URL = "https://github.com/NVIDIA/TensorRT-LLM/blob/20a7cec991b83dace860bfc32e57eb59d65a6ad3/README4Jetson.md"
JET_NOTE = ("Platform 'Jetson Orin 64GB, MAX-N, Jetpack 6.1' (the 64 GB Orin module is the AGX Orin 64GB). "
            "gptSessionBenchmark --batch_size 1 --input_output_len ISL,OSL --enable_cuda_graph (static batch). "
            "Llama-3-8B has the same shapes as Llama-3.1-8B (RoPE scaling/context differ). FP16 activations; KV-cache "
            "dtype not stated (TRT-LLM default = model dtype FP16), kv_bit=16 by that default.")
JET_PREC = {
    "int4": ("W4A16-INT4-perchannel", "INT4 weight-only, per-channel ('INT4 Default': convert_checkpoint.py --use_weight_only --weight_only_precision int4)."),
    "gptq": ("W4A16-GPTQ", "INT4 GPTQ ('--weight_only_precision int4_gptq --per_group', checkpoint MaziyarPanahi/Meta-Llama-3-8B-Instruct-GPTQ; group size not stated)."),
}
for kind, isl, osl, ctx_ms, dec in [("int4", 128, 128, "91", "35.9"), ("int4", 512, 512, "260", "35.2"),
                                    ("int4", 1024, 512, "582", "34.7"), ("gptq", 128, 128, "105", "34.5"),
                                    ("gptq", 512, 512, "292", "33.7"), ("gptq", 1024, 512, "337", "33.3")]:
    prec, pnote = JET_PREC[kind]
    suspect = ("suspect: context time for 1024 input tokens is only 15% above the 512-token row (the INT4-default "
               "table shows 2.2x); possibly a transcription or measurement slip in the source. "
               if (kind == "gptq" and isl == 1024) else "")
    common = dict(source_id="trtllm_jetson_v0.12", source_url=JET_URL, engine="TensorRT-LLM (gptSessionBenchmark)",
                  engine_version="v0.12.0-jetson", model="Llama-3-8B", model_config="Llama-3.1-8B",
                  device="Jetson-AGX-Orin-64GB", num_devices=1, tensor_parallel=1, precision=prec, w_bit=4, a_bit=16,
                  kv_bit=16, batch_size=1, input_len=isl, output_len=osl)
    add(**common, metric="ttft_s", value=ms_to_s(ctx_ms), unit="s",
        notes=suspect + f"Converted from 'Context (ms)' {ctx_ms} (context/prefill phase of {isl} tokens). {pnote} {JET_NOTE}")
    add(**common, metric="decode_throughput_tok_s", value=dec, unit="tok/s",
        notes=suspect + f"'Decode (token/s)' over the {osl}-token generation phase. {pnote} {JET_NOTE}")

# ---------------------------------------------------------------- write
for i, r in enumerate(rows):
    r["id"] = f"m{FIRST_ID + i:04d}"
out = HERE / "new_measurements.csv"
with open(out, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
print(f"{len(rows)} rows -> {out}")
