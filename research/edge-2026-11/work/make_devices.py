import json
D=[]
def dev(**k):
    base=dict(name=None,aliases=[],vendor=None,kind="soc",year=None,memory_type=None,memory_bytes=None,memory_bandwidth=None,
              peak_ops={},onchip_buffer_bytes=None,interconnect_name=None,interconnect_bandwidth=None,host_link_name=None,
              host_link_bandwidth=None,tdp_watts=None,sources={},notes="")
    base.update(k); D.append(base)

dev(name="Snapdragon-8-Gen-3", aliases=["SD8Gen3","SM8650","8-Gen-3"], vendor="Qualcomm", kind="soc", year=2023,
    memory_type="LPDDR5X (unified, up to 4800 MHz)", memory_bytes=16e9, memory_bandwidth=76.8e9,
    peak_ops={}, tdp_watts=None,
    sources={"memory":"https://droidholic.com/snapdragon-8-gen-3-launched/",
             "memory_capacity":"https://github.com/pytorch/executorch/blob/007485696ccb1cff20ed8bf8c034692406dc90b2/examples/models/llama/README.md"},
    notes=("Phone SoC (Galaxy S24 (Snapdragon variant), OnePlus 12, Xiaomi 14). Memory: launch coverage of Qualcomm's spec sheet gives 'LPDDR5X RAM with up to 4800MHz' "
           "(droidholic; also fyss.in). memory_bandwidth DERIVED = 4800 MHz x 2 (DDR) = 9600 MT/s x 64-bit bus / 8 = 76.8 GB/s; the 64-bit (4x16-bit) bus width is an assumption "
           "(Qualcomm's phone briefs do not state it in the text read) and phones often ship slower LPDDR5X (e.g. 8533 MT/s -> 68.3 GB/s). memory_bytes = 16 GB, the OnePlus 12 "
           "configuration used in the ExecuTorch README (device-dependent, 8-24 GB). peak_ops deliberately EMPTY: Qualcomm publishes no TOPS/TFLOPS for 8-series phone SoCs; "
           "third-party figures (e.g. '45 TOPS INT8' on runlocalai.co, '67 INT8 TOPS' in a repo note, 'up to 73 TOPS' for mobile NPUs in llm.npu arXiv 2407.05858 citing a "
           "Qualcomm page) disagree and none is a primary spec - NOT stored. No vendor TDP; phone sustained power is thermally limited (see power.csv / measurements).")) 

dev(name="Snapdragon-8-Elite", aliases=["SD8Elite","SM8750","8-Gen-4"], vendor="Qualcomm", kind="soc", year=2024,
    memory_type="LPDDR5X (unified, up to 5300 MHz)", memory_bytes=24e9, memory_bandwidth=84.8e9,
    peak_ops={}, tdp_watts=None,
    sources={"memory":"https://hi-tech.ua/en/qualcomm-snapdragon-8-elite-or-8-gen-4-is-the-new-top-processor-for-smartphones/",
             "memory_bandwidth":"https://geektopia.es/es/technology/2024/10/22/noticias/amp/qualcomm-anuncia-el-snapdragon-8-elite-para-moviles-de-gama-alta.html",
             "memory_capacity":"https://www.droid-life.com/2024/10/21/qualcomms-snapdragon-8-elite-is-gaming-changing/"},
    notes=("Phone SoC (Galaxy S25, Xiaomi 15, OnePlus 13); Qualcomm AI Hub's 'Snapdragon 8 Elite QRD' reference device. Memory: 'dual-channel LPDDR5X-5300' (hi-tech.ua) / "
           "'5,300 MHz LPDDR5X' (telsat.az); geektopia states 5300 MHz (10,600 MT/s) -> 84.8 GB/s. DERIVED check: 10,600 MT/s x 64-bit / 8 = 84.8 GB/s (64-bit bus assumed). "
           "memory_bytes = 'up to 24GB RAM' (droid-life launch article). peak_ops EMPTY for the same reason as Snapdragon-8-Gen-3 (no vendor TOPS; Qualcomm only gives "
           "'45% faster NPU' vs 8 Gen 3). Adreno 830 at 1100 MHz per geektopia - no FLOPS published. No vendor TDP."))

dev(name="Snapdragon-X-Elite-X1E-84-100", aliases=["X-Elite","X1E-84-100","Snapdragon-X-Elite"], vendor="Qualcomm", kind="soc", year=2024,
    memory_type="LPDDR5X-8533 (unified, 8 x 16-bit channels)", memory_bytes=64e9, memory_bandwidth=136e9,
    peak_ops={"fp32":4.6e12,"int8":45e12}, tdp_watts=None,
    sources={"memory":"https://mspoweruser.com/qualcomm-snapdragon-x-elite-soc-windows-pcs",
             "peak_ops":"https://www.tweaktown.com/news/93943/qualcomm-snapdragon-elite-4-6-tflops-more-gpu-power-than-xbox-series/index.html"},
    notes=("Laptop SoC (Copilot+ PC; AI Hub 'Snapdragon X Elite CRD'). Spec table as quoted from Qualcomm's sheet by MSPowerUser: LPDDR5x 8533 MT/s, up to 64 GB, 136 GB/s, "
           "'Bit Width: 16-bit, Number of Channels: 8' (DERIVED check: 8533 MT/s x 128 bit / 8 = 136.5 GB/s); Adreno GPU 'up to 4.6 TFLOPs' (FP32 per TweakTown); "
           "Hexagon NPU 45 TOPS. fp32 = GPU 4.6 TFLOPS applies only to the top GPU bin (X1E-84-100; other X1E SKUs are lower - the exact per-SKU value was not retrieved). "
           "int8 = NPU 45 TOPS, vendor headline; Qualcomm does not state precision/sparsity in the text read - INT8 dense is the Copilot+ convention but UNVERIFIED. "
           "No FP16 GPU or NPU FP16 figure published. No TDP published (OEM-configurable). Primary Qualcomm product brief not retrievable from the corpus: numbers "
           "read from press coverage quoting it - medium confidence."))

dev(name="Intel-Core-Ultra-7-288V", aliases=["Lunar-Lake-288V","288V","Core-Ultra-200V"], vendor="Intel", kind="soc", year=2024,
    memory_type="LPDDR5X-8533 on-package (unified)", memory_bytes=32e9, memory_bandwidth=136.5e9,
    peak_ops={"int8":48e12}, tdp_watts=None,
    sources={"peak_ops":"https://notebookcheck.com/Core-Ultra-7-268V-enthuellt-Specs-des-ersten-Lunar-Lake-Chips-Intel-demonstriert-Stromverbrauch.844299.0.html",
             "platform_tops":"https://zareason.com/intel-lunar-lake-will-deliver-120-tops-combining-cpu-igpu-and-npu/",
             "memory":"https://www.sipoch.com/en/article/300330019104576"},
    notes=("Laptop SoC, NPU 4. int8 = NPU 48 TOPS (Intel figure for the top Lunar Lake NPU, reported by notebookcheck/zareason; platform total CPU+GPU+NPU 120 TOPS - not stored "
           "since it sums different engines). Memory: up to 32 GB on-package (PCMag/sipoch coverage of Intel's IFA launch); a 288V system is described with '32GB LPDDR5X-8533' in a "
           "public repo. memory_bandwidth DERIVED = 8533 MT/s x 128-bit / 8 = 136.5 GB/s (128-bit on-package interface ASSUMED; Intel ARK page not retrievable here - verify). "
           "GPU (Arc 140V) peak not stored: no primary figure read. tdp_watts left null: Intel ARK gives processor base/max turbo power but the page could not be read in this session "
           "(commonly quoted 17 W / 37 W - UNVERIFIED). LOW-MEDIUM confidence overall."))

dev(name="AMD-Ryzen-AI-9-HX-370", aliases=["HX370","Strix-Point","Ryzen-AI-300"], vendor="AMD", kind="soc", year=2024,
    memory_type="LPDDR5X (unified, 128-bit)", memory_bytes=None, memory_bandwidth=120e9,
    peak_ops={"fp32":11.88e12,"int8":50e12}, tdp_watts=28,
    sources={"peak_ops":"https://computerbase.de/2024-07/ryzen-ai-9-hx-375-amd-macht-die-55-tops-apu-offiziell",
             "gpu":"https://www.svethardware.cz/mobilni-amd-ryzen-ai-300-prinasi-npu-s-50-tops-a-2krat-silnejsi-gpu/60751",
             "tdp":"https://www.purepc.pl/amd-ryzen-ai-9-hx-370-oraz-ryzen-ai-9-365-zapowiedz-procesorow-strix-dla-laptopow-zen-5-xdna-2-i-rdna-3-5-na-pokladzie",
             "memory":"https://huggingface.co/hardware/amd"},
    notes=("Laptop APU (XDNA 2 NPU). int8 = NPU 50 TOPS (AMD spec; ComputerBase: HX 370 = 50 NPU + 30 CPU/GPU = 80 TOPS total; HX 375 = 55). "
           "fp32 DERIVED = Radeon 890M 16 CU x 64 lanes x 2 (FMA) x 2 (RDNA3 dual-issue) x 2.9 GHz = 11.88 TFLOPS (16 CU @ 2900 MHz per svethardware; equals the Hugging Face "
           "hardware catalogue's 11.88 TFLOPS for Radeon 890M); without dual-issue it is 5.94 TFLOPS, which is closer to what LLM kernels see. memory_bandwidth = 120 GB/s "
           "from third-party catalogues (LPDDR5X-7500 x 128-bit / 8 = 120 GB/s DERIVED; the LPDDR5X-7500 figure comes from AMD's spec page, not retrieved here - verify). "
           "memory_bytes null (OEM-dependent, soldered). tdp = default TDP 28 W; configurable 15-54 W (purepc, svethardware; ComputerBase table lists 28 W)."))

dev(name="Apple-M4-10C", aliases=["M4","Apple-M4"], vendor="Apple", kind="soc", year=2024,
    memory_type="LPDDR5X (unified)", memory_bytes=32e9, memory_bandwidth=120e9,
    peak_ops={"int8":38e12}, tdp_watts=None,
    sources={"memory":"https://www.engadget.com/apples-m4-chip-arrives-with-a-big-focus-on-ai-142448428.html",
             "memory_capacity":"https://appleosophy.com/2024/11/01/top-tidbits-about-the-macbook-pro-m4-m4-pro-m4-max-you-may-have-missed",
             "peak_ops":"https://www.macrumors.com/2024/05/07/apple-debuts-m4-chip/"},
    notes=("Base M4 (10-core CPU / 10-core GPU). Apple: memory bandwidth up to 120 GB/s (engadget; appleosophy '100GB/s to 120GB/s'); MacBook Pro M4 configurable up to 32 GB. "
           "Neural Engine 'capable of 38 trillion operations per second' (Apple, via MacRumors/engadget). Stored as int8 by ASSUMPTION: Apple does not state the precision of "
           "the TOPS figure (A17 Pro/M4-era figures are widely read as INT8, earlier ones as FP16) - LOW confidence for the dtype. GPU fp32/fp16 not stored: Apple publishes no "
           "GPU TFLOPS for M4 (third-party ~4.3-4.6 TFLOPS estimates exist, e.g. huggingface.co/hardware/apple-m4 lists 4.6). Primary Apple newsroom page "
           "(https://www.apple.com/newsroom/2024/05/apple-introduces-m4-chip/) not retrievable in this corpus; figures read from press reports of it. No TDP."))

dev(name="Apple-M4-Pro-20C", aliases=["M4-Pro","M4Pro"], vendor="Apple", kind="soc", year=2024,
    memory_type="LPDDR5X (unified)", memory_bytes=64e9, memory_bandwidth=273e9,
    peak_ops={"int8":38e12}, tdp_watts=None,
    sources={"memory":"https://stuff.co.za/2024/10/31/apples-m4-powered-macbook-pros",
             "peak_ops":"https://americanfork.business/?p=76748"},
    notes=("M4 Pro (14-core CPU / 20-core GPU). 'M4 Pro supports up to 64GB of unified memory with a memory bandwidth of 273GB/s' (stuff.co.za; appleosophy: MacBook Pro M4 Pro "
           "configurable to 48 GB, Mac mini to 64 GB). Neural Engine: same 16-core NE as M4 (38 TOPS; americanfork/PCMag table lists 16 NE cores for M4/M4 Pro/M4 Max) - "
           "int8 dtype ASSUMED as for Apple-M4-10C. GPU TFLOPS unpublished - not stored. No TDP."))

dev(name="Apple-A17-Pro", aliases=["A17Pro","iPhone-15-Pro"], vendor="Apple", kind="soc", year=2023,
    memory_type="LPDDR5 (unified; Apple does not publish)", memory_bytes=None, memory_bandwidth=None,
    peak_ops={"int8":35e12}, tdp_watts=None,
    sources={"peak_ops":"https://chummy.chumcity.xyz/apple-event-live-blog-iphone-15-apple-watch-series-9-38365.html",
             "measured_bandwidth":"https://github.com/ggml-org/whisper.cpp/pull/2546"},
    notes=("iPhone 15 Pro SoC (3 nm, 6-core CPU 2P+4E, 6-core GPU, 16-core Neural Engine). Neural Engine 35 trillion ops/s (Apple keynote, as reported); dtype stored as int8 by "
           "ASSUMPTION (Apple's doubling from A16's 17 TOPS is widely attributed to counting INT8) - LOW confidence. memory_bandwidth NULL: Apple publishes neither RAM size nor "
           "bandwidth for iPhones. Measured reference only: whisper.cpp bench on iPhone 15 Pro reports CPU memcpy 22.5 GB/s (4 threads) - a CPU-side copy figure, NOT the DRAM peak "
           "(peak would be ~51.2 GB/s if the widely reported 64-bit LPDDR5-6400 holds - UNVERIFIED, not stored). Apple's own LLM figure on this chip: ~0.6 ms per prompt token TTFT "
           "and 30 tok/s for a ~3B model (see measurements.csv)."))

dev(name="Apple-A18-Pro", aliases=["A18Pro","iPhone-16-Pro"], vendor="Apple", kind="soc", year=2024,
    memory_type="LPDDR5X (unified; Apple does not publish)", memory_bytes=None, memory_bandwidth=None,
    peak_ops={"int8":35e12}, tdp_watts=None,
    sources={"peak_ops":"https://www.gadgets360.com/mobiles/news/apple-iphone-16-series-a18-pro-chipset-details-6530448"},
    notes=("iPhone 16 Pro SoC (N3E, 6-core CPU, 6-core GPU, 16-core Neural Engine 35 TOPS). Apple claims '17 percent increase in total system memory bandwidth' vs A17 Pro "
           "(gadgets360, phonearena) but no absolute figure, so memory_bandwidth is NULL (would be 1.17 x the A17 Pro value). int8 dtype ASSUMED (see Apple-A17-Pro). "
           "Thermal behaviour dominates sustained LLM speed: arXiv 2603.23640 reports the iPhone 16 Pro 'loses nearly half its throughput within two iterations'."))

dev(name="Jetson-Orin-Nano-Super-8GB", aliases=["Orin-Nano-Super","Orin-Nano-8GB","Jetson-Orin-Nano"], vendor="NVIDIA", kind="soc", year=2024,
    memory_type="LPDDR5 128-bit (unified)", memory_bytes=8e9, memory_bandwidth=102e9,
    peak_ops={"fp32":2.089e12,"fp16":16.75e12,"int8":33.5e12}, onchip_buffer_bytes=None, tdp_watts=25,
    sources={"memory":"https://docs.ultralytics.com/guides/nvidia-jetson/",
             "peak_ops":"https://docs.nvidia.com/jetson/orin-nano-devkit/user-guide/latest/index.html",
             "tdp":"https://docs.nvidia.com/jetson/orin-nano-devkit/user-guide/latest/index.html",
             "clock":"https://www.brojogopalsapui.com/dark/ai-foundations/sub_contents/AI_hardware/jetson_orin_nano_dark.html"},
    notes=("Orin Nano 8GB module in 'Super' mode (JetPack 6.1+/6.2; same silicon as the 2023 40-TOPS/68 GB/s Orin Nano). NVIDIA dev-kit user guide: 'up to 67 INT8 TOPS', "
           "up to 102 GB/s memory bandwidth, 7 W to 25 W (quoted in two repository copies of the guide; the guide page itself was not retrievable). Memory '8GB 128-bit LPDDR5 "
           "102 GB/s' (Ultralytics Jetson guide table reproducing NVIDIA's). int8 DERIVED = 67 sparse / 2 = 33.5 TOPS dense (GPU only; Orin Nano has no DLA). fp16 DERIVED = "
           "half of dense INT8 = 16.75 TFLOPS (Ampere tensor FP16:INT8 = 1:2, same method as Jetson-AGX-Orin-64GB). fp32 DERIVED = 1024 CUDA cores x 2 x 1.02 GHz = 2.09 TFLOPS "
           "(1.02 GHz Super GPU clock from a third-party page citing NVIDIA's datasheet - medium confidence). Cross-check: AGX Orin 170 sparse TOPS / (64 TC x 1.3 GHz) x (32 TC x "
           "1.02 GHz) = 66.7 ~ 67. tdp = 25 W mode; NOTE the MAXN_SUPER mode is uncapped and can exceed 25 W. onchip_buffer null (GPU L2 size not read; CPU L3 = 4 MB)."))

dev(name="Jetson-Orin-NX-16GB", aliases=["Orin-NX","Orin-NX-16GB"], vendor="NVIDIA", kind="soc", year=2023,
    memory_type="LPDDR5 128-bit (unified)", memory_bytes=16e9, memory_bandwidth=102.4e9,
    peak_ops={"fp32":1.88e12,"fp16":15e12,"int8":30e12}, tdp_watts=25,
    sources={"memory":"https://docs.ultralytics.com/guides/nvidia-jetson/",
             "peak_ops":"https://github.com/icub-tech-iit/cad-libraries/files/13056089/JETSON-ORIN-NX-DATASHEET.pdf",
             "tdp":"https://github.com/icub-tech-iit/cad-libraries/files/13056089/JETSON-ORIN-NX-DATASHEET.pdf",
             "clock":"https://github.com/icub-tech-iit/cad-libraries/files/13056089/JETSON-ORIN-NX-DATASHEET.pdf"},
    notes=("Original (non-Super) Orin NX 16GB module. NVIDIA datasheet: 'up to 100 TOPS of AI performance ... power configurable between 10W and 25W'; 1024-core Ampere GPU with 32 "
           "Tensor Cores; memory '16GB 128-bit LPDDR5 102.4GB/s' (Ultralytics/Seeed tables reproducing NVIDIA's). The 100 TOPS is sparse INT8 for GPU + 2x NVDLA v2 and is NOT "
           "stored. int8 DERIVED GPU-only = 170 sparse TOPS (AGX Orin GPU) / (64 TC x 1.3 GHz) x (32 TC x 0.918 GHz) = 60 sparse -> 30 dense (so the 2 DLAs supply ~40 of the 100 "
           "sparse TOPS). fp16 DERIVED = half of dense INT8 = 15 TFLOPS. fp32 DERIVED = 1024 x 2 x 0.918 GHz = 1.88 TFLOPS (918 MHz GPU max clock: NVIDIA datasheet value as reproduced in a vendor (Seeed reComputer) spec table seen only as a repository copy - the datasheet excerpt "
           "read here did not show the clock; medium confidence). JetPack 6.2 'Super' mode raises this module to 157 sparse INT8 TOPS "
           "(table in a repository copy of NVIDIA's module comparison) - not used here. tdp = 25 W (10-25 W)."))

dev(name="Raspberry-Pi-5-8GB", aliases=["RPi5","Raspberry-Pi-5","BCM2712"], vendor="Raspberry Pi", kind="cpu", year=2023,
    memory_type="LPDDR4X-4267 (32-bit)", memory_bytes=8e9, memory_bandwidth=17.07e9,
    peak_ops={"fp32":153.6e9}, onchip_buffer_bytes=2e6, tdp_watts=None,
    sources={"memory":"https://www.raspberrypi.com/products/raspberry-pi-5/",
             "peak_ops":"https://www.raspberrypi.com/products/raspberry-pi-5/",
             "onchip_buffer":"https://www.raspberrypi.com/products/raspberry-pi-5/"},
    notes=("Single-board computer, CPU-only LLM inference (llama.cpp). Official spec text (seen verbatim in repository copies of the product page): 'Broadcom BCM2712 2.4GHz quad-core "
           "64-bit Arm Cortex-A76 CPU ... 512KB per-core L2 caches and a 2MB shared L3 cache'; 'LPDDR4X-4267 SDRAM (2GB, 4GB, 8GB, and 16GB)'. memory_bandwidth DERIVED = 4267 MT/s x "
           "32-bit / 8 = 17.07 GB/s (32-bit interface ASSUMED; a third-party benchmark note also states 'Peak bandwidth: 17 GB/s'). fp32 DERIVED, LOW confidence = 4 cores x 2.4 GHz x "
           "16 FLOP/cycle (two 128-bit NEON FMA pipes per Cortex-A76 - microarchitecture figure not re-read from Arm docs this session) = 153.6 GFLOPS. fp16 (2x, Armv8.2 FP16) and "
           "int8 dot-product rates not stored (no primary per-cycle source read). tdp null: the official PSU is 27 W (5.1 V 5 A) but that is a supply rating including USB "
           "peripherals, not SoC power. onchip = 2 MB L3. Optional NPUs (AI HAT+ 13/26 TOPS, Hailo-10H) are separate devices."))

json.dump(D, open('/work/staging/edge/devices.json','w'), indent=1)
print(len(D))
