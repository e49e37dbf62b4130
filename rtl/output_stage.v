`default_nettype none

// output_stage: one output row of COLS lanes -> bias add, integer requantization and the fused
// activation's clamp, exactly as docs/microarchitecture.md ("Output stage") and its Python
// definition accelsim/lowering/requant.py say. Three registered stages, one row a cycle, no
// back-pressure; a row taken on the edge that ends cycle t is on q_out (with out_valid/out_last)
// in cycle t + 3. The per-row inputs (psum_in, bias, m0, shift, act_min, act_max) are sampled with
// the row and travel down the stages with it, so they may change every cycle.
//
// Per lane k (bits [k*W +: W] of each port):
//   (1) x  = wrap32(acc_in + psum_in + bias); xs = sat32(x * 2^max(shift, 0))
//   (2) h  = SaturatingRoundingDoublingHighMul(xs, m0): (xs*m0 + nudge) / 2^31 toward zero,
//            nudge 2^30 (1 - 2^30 for a negative product); xs = m0 = -2^31 gives 2^31 - 1
//   (3) y  = RoundingDivideByPOT(h, max(-shift, 0)) (ties away from zero);
//       q  = min(max(y, act_min), act_max), OUT_W bits.
// Every 6-bit shift value is defined (the contract's range is [-31, 30]; 31 and -32 compute
// like requant.py does). Registers take their inputs on every edge; q_out outside out_valid is
// a don't-care.
module output_stage #(
    parameter COLS  = 8,   // lanes (the array's output columns)
    parameter ACC_W = 32,  // accumulator width of acc_in / psum_in (the rule is defined for 32)
    parameter OUT_W = 8    // requantized output width (signed), 2 .. ACC_W - 1
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  in_valid,
    input  wire                  in_last,
    input  wire [COLS*ACC_W-1:0] acc_in,
    input  wire [COLS*ACC_W-1:0] psum_in,
    input  wire [COLS*32-1:0]    bias,
    input  wire [COLS*32-1:0]    m0,
    input  wire [COLS*6-1:0]     shift,
    input  wire [OUT_W-1:0]      act_min,
    input  wire [OUT_W-1:0]      act_max,
    output wire                  out_valid,
    output wire                  out_last,
    output wire [COLS*OUT_W-1:0] q_out
);

    // Elaboration-time checks: an impossible configuration does not build.
    generate
        if (COLS < 1) begin : g_bad_cols
            $fatal(1, "output_stage: COLS must be >= 1 (COLS=%0d)", COLS);
        end
        if (ACC_W != 32) begin : g_bad_acc
            $fatal(1, "output_stage: the requantization rule needs ACC_W == 32 (ACC_W=%0d)", ACC_W);
        end
        if (OUT_W < 2 || OUT_W >= ACC_W) begin : g_bad_out
            $fatal(1, "output_stage: need 2 <= OUT_W < ACC_W (OUT_W=%0d, ACC_W=%0d)", OUT_W, ACC_W);
        end
    endgenerate

    // Per-row control and clamp bounds, one register per stage (they travel with the row).
    reg              v1_q, v2_q, v3_q;
    reg              l1_q, l2_q, l3_q;
    reg  [OUT_W-1:0] min1_q, max1_q, min2_q, max2_q;

    always @(posedge clk) begin
        if (rst) begin
            {v1_q, v2_q, v3_q} <= 3'b000;
            {l1_q, l2_q, l3_q} <= 3'b000;
            {min1_q, max1_q, min2_q, max2_q} <= {4*OUT_W{1'b0}};
        end else begin
            v1_q <= in_valid;
            l1_q <= in_valid && in_last;
            v2_q <= v1_q;
            l2_q <= l1_q;
            v3_q <= v2_q;
            l3_q <= l2_q;
            min1_q <= act_min;
            max1_q <= act_max;
            min2_q <= min1_q;
            max2_q <= max1_q;
        end
    end

    genvar k;
    generate
        for (k = 0; k < COLS; k = k + 1) begin : g_lane
            // ---- stage 1: the adds (wrapping) and the saturating left shift --------------------
            wire [31:0] x = acc_in[k*ACC_W +: ACC_W] + psum_in[k*ACC_W +: ACC_W] + bias[k*32 +: 32];
            wire [5:0]  sh = shift[k*6 +: 6];
            wire [5:0]  left = sh[5] ? 6'd0 : sh;            // 0 .. 31
            wire [5:0]  right = sh[5] ? (6'd0 - sh) : 6'd0;  // 0 .. 32
            // |x| <= 2^31 and left <= 31, so x * 2^left fits 63 bits: it fits 32 iff bits 63..31 agree.
            wire [63:0] xl = {{32{x[31]}}, x} << left;
            wire        over  = !xl[63] && (|xl[62:31]);
            wire        under = xl[63] && !(&xl[62:31]);
            wire [31:0] xs = over ? 32'h7fff_ffff : (under ? 32'h8000_0000 : xl[31:0]);

            reg  [31:0] xs1_q, m01_q;
            reg  [5:0]  right1_q, right2_q;
            reg  [31:0] h2_q;
            reg  [OUT_W-1:0] q3_q;

            // ---- stage 2: the doubling high multiply, rounded toward +infinity on ties -------
            wire signed [63:0] p = $signed(xs1_q) * $signed(m01_q);
            wire signed [63:0] nudge = p[63] ? -64'sd1073741823 : 64'sd1073741824;  // 1 - 2^30 : 2^30
            wire signed [63:0] t = p + nudge;
            // t / 2^31 toward zero: floor((t + 2^31 - 1) / 2^31) for t < 0; it fits 32 bits but in
            // the one corner xs = m0 = -2^31 (t = 2^62 + 2^30), which saturates.
            wire signed [63:0] t_adj = t + (t[63] ? 64'sd2147483647 : 64'sd0);
            wire        corner = (xs1_q == 32'h8000_0000) && (m01_q == 32'h8000_0000);
            wire [31:0] h = corner ? 32'h7fff_ffff : t_adj[62:31];
            wire        unused_t = &{1'b0, t_adj[63], t_adj[30:0]};

            // ---- stage 3: the rounding right shift (ties away from zero) and the clamp ---------
            wire [32:0] h33 = {h2_q[31], h2_q};
            wire [32:0] mask = (33'd1 << right2_q) - 33'd1;
            wire [32:0] rem = h33 & mask;
            wire [32:0] threshold = (mask >> 1) + {32'd0, h2_q[31]};
            wire signed [32:0] y = ($signed(h33) >>> right2_q) + $signed({32'd0, rem > threshold});
            wire signed [32:0] lo = {{(33-OUT_W){min2_q[OUT_W-1]}}, min2_q};
            wire signed [32:0] hi = {{(33-OUT_W){max2_q[OUT_W-1]}}, max2_q};
            wire signed [32:0] y_lo = (y < lo) ? lo : y;
            wire signed [32:0] q = (y_lo > hi) ? hi : y_lo;
            wire        unused_q = &{1'b0, q[32:OUT_W]};

            always @(posedge clk) begin
                if (rst) begin
                    xs1_q    <= 32'd0;
                    m01_q    <= 32'd0;
                    right1_q <= 6'd0;
                    h2_q     <= 32'd0;
                    right2_q <= 6'd0;
                    q3_q     <= {OUT_W{1'b0}};
                end else begin
                    xs1_q    <= xs;
                    m01_q    <= m0[k*32 +: 32];
                    right1_q <= right;
                    h2_q     <= h;
                    right2_q <= right1_q;
                    q3_q     <= q[OUT_W-1:0];
                end
            end

            assign q_out[k*OUT_W +: OUT_W] = q3_q;
        end
    endgenerate

    assign out_valid = v3_q;
    assign out_last  = l3_q;

endmodule

`default_nettype wire
