/* devices.h — device ceilings: memory bandwidth and peak FLOP/s per compute type, from a datasheet
 * preset or a ceilings JSON file (written by `decodebench roofline` from measurements).
 *
 * What it is for: the numbers the sim backend prices a step with, and the ridge point / predicted
 * crossover batch of a precision on a device.
 * What it must not do: measure anything (the roofline command does), or pretend a datasheet figure was
 * measured: every ceiling carries its source.
 *
 * Ceilings JSON (one object; unknown top-level fields are ignored, so a writer may add its own):
 *   "device"                string, required: a description of the device
 *   "source"                "measured" | "datasheet", required
 *   "memory_bandwidth_GBps" number > 0, required: sustained bandwidth in 1e9 bytes/s
 *   "peak_tflops"           object, required: any of "fp32", "tf32", "fp16", "bf16", "fp8", "int8"
 *                           (dense, 1e12 FLOP/s, >= 0; a missing or 0 entry means "not available")
 *   "memory_GB"             number >= 0, optional: device memory in 1e9 bytes (sizes the default KV)
 *   "step_overhead_us"      number >= 0, optional: fixed per-step overhead (default 30)
 *   "scheme_peak_tflops"    object, optional: the peak a precision scheme's GEMMs reached as measured
 *                           (keys fp32, tf32, fp16, bf16, fp8, int8, int4; 1e12 FLOP/s, >= 0; 0 or
 *                           missing: the scheme runs at the peak_tflops entry db_device_gemm_peak
 *                           maps it to). `decodebench roofline` writes it.
 *   "fingerprint"           object, optional: where and how the ceilings were taken (kept opaque)
 */
#ifndef DB_DEVICES_H
#define DB_DEVICES_H

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum db_peak_type {
    DB_PEAK_FP32 = 0, /* CUDA cores */
    DB_PEAK_TF32,
    DB_PEAK_FP16,
    DB_PEAK_BF16,
    DB_PEAK_FP8,
    DB_PEAK_INT8,
    DB_PEAK_COUNT
} db_peak_type;

const char *db_peak_type_name(db_peak_type t); /* the JSON keys: "fp32", "tf32", ... */

#define DB_DEVICE_DEFAULT_STEP_OVERHEAD_S 30e-6

typedef struct db_device_ceilings {
    char name[128];                   /* e.g. "H100 SXM 80GB" */
    char source[16];                  /* "datasheet" or "measured" */
    double memory_bandwidth;          /* bytes/s */
    double memory_bytes;              /* device memory; 0 when not known */
    double peak_flops[DB_PEAK_COUNT]; /* FLOP/s; 0 when not available */
    double step_overhead_s;           /* fixed per-step overhead the sim adds */
    double scheme_peak_flops[DB_PREC_COUNT]; /* FLOP/s of a scheme's GEMMs as measured; 0 when not
                                                given (datasheet presets give none) */
} db_device_ceilings;

/* Datasheet presets (spec/roofline.md): h100-sxm, h200, a100-80g, l40s. */
int db_device_preset_count(void);
const char *db_device_preset_name(int i);                        /* NULL when out of range */
int db_device_preset(const char *name, db_device_ceilings *out); /* 0, or -1 if unknown */

/* Reads a ceilings JSON file; every missing, ill-typed or out-of-range field is named. */
db_status db_device_load_json(const char *path, db_device_ceilings *out, db_error *err);
/* Writes c as a ceilings JSON file (to a temporary name, then renamed). fingerprint_json: the text of
 * a JSON object to store under "fingerprint", or NULL. */
db_status db_device_write_json(const char *path, const db_device_ceilings *c,
                               const char *fingerprint_json, db_error *err);
/* A preset name or a path to a ceilings JSON file. */
db_status db_device_resolve(const char *name_or_path, db_device_ceilings *out, db_error *err);

/* The peak a scheme's GEMMs run at: fp32 -> fp32, tf32 -> tf32, fp16 -> fp16, fp8 -> fp8,
 * bf16 and the weight-only int8 / int4 (bf16 activations) -> bf16. */
db_peak_type db_device_gemm_peak(db_precision p);
/* FLOP/s a scheme's GEMMs run at on c: its own measured peak (scheme_peak_flops) when given, else
 * peak_flops[db_device_gemm_peak(p)]; 0 when neither is available. */
double db_device_scheme_peak(const db_device_ceilings *c, db_precision p);
/* The peak attention runs at: fp32 -> fp32, tf32 -> tf32, fp16 -> fp16, everything else -> bf16. */
db_peak_type db_device_attention_peak(db_precision p);
/* Ridge point AI* = peak / bandwidth (FLOP per byte) for the scheme's GEMM peak (db_device_scheme_peak);
 * 0 if unavailable. */
double db_device_ridge(const db_device_ceilings *c, db_precision p);
/* Predicted decode crossover batch B* = ridge x bytes-per-weight / 2 (spec/roofline.md). */
double db_device_crossover_batch(const db_device_ceilings *c, db_precision p);

#ifdef __cplusplus
}
#endif
#endif
