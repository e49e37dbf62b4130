// harness_io.cpp: the fast harness's file I/O as DPI-C functions (rtl/tb/harness_top.v; not part of the design).
//
// Verilog's $fread reads a byte a call and $writememh prints a row a call; here the stimulus file is read with
// one fread into a buffer the testbench takes a word a cycle from, and the captured rows are appended to a
// buffer written with one fwrite when the batch ends. The output stage's per-row inputs (c_final, psum_in,
// bias, m0, shift, act_min/max) are computed here from a small fold table, as the ofmap buffer's side would
// present them (docs/microarchitecture.md, "Output stage"): the rows of a C block's earlier k-tiles (the RTL's
// own c_out rows) are summed, wrapping, into a buffer per output row of the fold; a final row gets that sum on
// psum_in. Layouts (all little-endian; accelsim.rtlsim.harness writes and reads them):
//   stimulus: words of ceil(STIM_W/32) 32-bit units, the Verilog word {.., ctrl, b_in, a_in} bit 0 first;
//   stage file: int32 header {folds, bias count, is (1: IS lanes), m0, shift, act_min, act_max}, int32 bias[],
//               then per fold int32 {rows, flags (1 first_k, 2 last_k), n0, nt} (folds = 0: no stage);
//   capture: int32 {rows, q rows}, then per row {cycle, c_last, c_out units}, then per q row {cycle, out_last,
//            q_out units} (units: ceil(COLS*ACC_W/32), ceil(COLS*OUT_W/32) 32-bit units).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "svdpi.h"
#if __has_include("Vtop__Dpi.h")
#include "Vtop__Dpi.h"  // Verilator's prototypes of the imports (cocotb's prefix Vtop): a mismatch does not compile
#endif

namespace {

struct Io {
    int cols = 0, acc_w = 32, word_units = 0, row_units = 0, q_units = 0;
    std::vector<uint32_t> stim;
    size_t words = 0, next = 0;
    std::vector<uint32_t> rows, q;
    uint32_t row_count = 0, q_count = 0;
    std::FILE* cap = nullptr;
    // output stage: the fold table, the current row's fold and row, the partial sums per row of the fold
    std::vector<int32_t> bias, fold_rows, fold_flags, fold_n0, fold_nt;
    int32_t is_mode = 0, m0 = 0, shift = 0, act_min = 0, act_max = 0;
    size_t fold = 0, row = 0;
    std::vector<uint32_t> psum;
};

Io io;

int units(int bits) { return (bits + 31) / 32; }

bool read_all(const char* path, std::vector<uint8_t>& out) {
    std::FILE* f = std::fopen(path, "rb");
    if (!f) return false;
    std::fseek(f, 0, SEEK_END);
    long size = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    out.resize(size > 0 ? static_cast<size_t>(size) : 0);
    bool ok = size >= 0 && std::fread(out.data(), 1, out.size(), f) == out.size();
    std::fclose(f);
    return ok;
}

}  // namespace

extern "C" {

// Open a batch: read the stimulus and stage files, open the capture file; the number of stimulus words (0 on error).
int harness_open(const char* stim_path, const char* stage_path, const char* cap_path, int stim_w, int cols,
                 int acc_w, int out_w) {
    io.cols = cols;
    io.acc_w = acc_w;
    io.word_units = units(stim_w);
    io.row_units = units(cols * acc_w);
    io.q_units = units(cols * out_w);
    std::vector<uint8_t> raw;
    if (!read_all(stim_path, raw) || raw.size() % (4 * io.word_units) != 0) {
        std::fprintf(stderr, "harness_io: cannot read %s (or not whole words)\n", stim_path);
        return 0;
    }
    io.stim.resize(raw.size() / 4);
    std::memcpy(io.stim.data(), raw.data(), raw.size());
    io.words = raw.size() / (4 * io.word_units);
    io.next = 0;
    io.rows.clear();
    io.q.clear();
    io.row_count = io.q_count = 0;
    io.bias.clear();
    io.fold_rows.clear();
    io.fold = io.row = 0;
    if (!read_all(stage_path, raw) || raw.size() < 28) {
        std::fprintf(stderr, "harness_io: cannot read %s\n", stage_path);
        return 0;
    }
    const int32_t* h = reinterpret_cast<const int32_t*>(raw.data());
    size_t folds = static_cast<size_t>(h[0]), nbias = static_cast<size_t>(h[1]);
    if (raw.size() != 4 * (7 + nbias + 4 * folds)) {
        std::fprintf(stderr, "harness_io: %s: %zu bytes, expected %zu\n", stage_path, raw.size(),
                     4 * (7 + nbias + 4 * folds));
        return 0;
    }
    io.is_mode = h[2];
    io.m0 = h[3];
    io.shift = h[4];
    io.act_min = h[5];
    io.act_max = h[6];
    io.bias.assign(h + 7, h + 7 + nbias);
    const int32_t* f = h + 7 + nbias;
    io.fold_rows.resize(folds);
    io.fold_flags.resize(folds);
    io.fold_n0.resize(folds);
    io.fold_nt.resize(folds);
    for (size_t i = 0; i < folds; ++i) {
        io.fold_rows[i] = f[4 * i];
        io.fold_flags[i] = f[4 * i + 1];
        io.fold_n0[i] = f[4 * i + 2];
        io.fold_nt[i] = f[4 * i + 3];
    }
    io.cap = std::fopen(cap_path, "wb");
    if (!io.cap) {
        std::fprintf(stderr, "harness_io: cannot write %s\n", cap_path);
        return 0;
    }
    return static_cast<int>(io.words);
}

// The next stimulus word (a stop word once the file is exhausted).
void harness_word(svBitVecVal* word) {
    if (io.next < io.words) {
        std::memcpy(word, &io.stim[io.next * io.word_units], 4 * io.word_units);
        ++io.next;
    } else {
        std::memset(word, 0xff, 4 * io.word_units);  // stop set (and everything else: never played)
    }
}

// An output row on c_out in cycle t: captured, and added to the partial sums if it is not final.
void harness_row(int t, svBit last, const svBitVecVal* c_out) {
    io.rows.push_back(static_cast<uint32_t>(t));
    io.rows.push_back(last);
    io.rows.insert(io.rows.end(), c_out, c_out + io.row_units);
    ++io.row_count;
    if (io.fold >= io.fold_rows.size()) return;
    int32_t flags = io.fold_flags[io.fold];
    if (!(flags & 2) && io.acc_w == 32) {  // an earlier k-tile: into the buffer (wrapping adds)
        size_t need = (io.row + 1) * io.cols;
        if (io.psum.size() < need) io.psum.resize(need, 0);
        for (int k = 0; k < io.cols; ++k) {
            uint32_t& s = io.psum[io.row * io.cols + k];
            s = (flags & 1) ? c_out[k] : s + c_out[k];
        }
    }
    if (++io.row == static_cast<size_t>(io.fold_rows[io.fold])) {
        ++io.fold;
        io.row = 0;
    }
}

// An int8 row on q_out in cycle t.
void harness_q(int t, svBit last, const svBitVecVal* q_out) {
    io.q.push_back(static_cast<uint32_t>(t));
    io.q.push_back(last);
    io.q.insert(io.q.end(), q_out, q_out + io.q_units);
    ++io.q_count;
}

// The output stage's inputs for the next row to appear on c_out: c_final, then psum_in, bias (per lane), m0,
// shift, act_min, act_max (per layer).
void harness_stage(svBit* final, svBitVecVal* psum, svBitVecVal* bias, int* m0, int* shift, int* act_min,
                   int* act_max) {
    std::memset(psum, 0, 4 * io.row_units);
    std::memset(bias, 0, 4 * units(32 * io.cols));
    *final = 0;
    *m0 = io.m0;
    *shift = io.shift;
    *act_min = io.act_min;
    *act_max = io.act_max;
    if (io.fold >= io.fold_rows.size() || io.acc_w != 32) return;
    int32_t flags = io.fold_flags[io.fold], n0 = io.fold_n0[io.fold], nt = io.fold_nt[io.fold];
    if (!(flags & 2)) return;
    *final = 1;
    if (!(flags & 1) && io.psum.size() >= (io.row + 1) * io.cols)
        std::memcpy(psum, &io.psum[io.row * io.cols], 4 * io.cols);
    if (io.bias.empty()) return;
    for (int k = 0; k < io.cols; ++k) {
        if (io.is_mode)
            bias[k] = static_cast<int>(io.row) < nt ? static_cast<uint32_t>(io.bias[n0 + io.row]) : 0;
        else
            bias[k] = k < nt ? static_cast<uint32_t>(io.bias[n0 + k]) : 0;
    }
}

// End the batch: write the capture file; 0, or 1 if it could not be written.
int harness_close() {
    if (!io.cap) return 1;
    uint32_t head[2] = {io.row_count, io.q_count};
    bool ok = std::fwrite(head, 4, 2, io.cap) == 2
              && std::fwrite(io.rows.data(), 4, io.rows.size(), io.cap) == io.rows.size()
              && std::fwrite(io.q.data(), 4, io.q.size(), io.cap) == io.q.size();
    ok = std::fclose(io.cap) == 0 && ok;
    io.cap = nullptr;
    return ok ? 0 : 1;
}

}  // extern "C"
