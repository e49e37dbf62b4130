`default_nettype none

// systolic_top: the ROWS x COLS systolic array with its skew/deskew buffers and fold control,
// exactly as specified in docs/microarchitecture.md (ports, per-cycle semantics, fold timing).
// One build serves every dataflow and both issue modes: serial and pipelined folds differ only
// in when the driver presents the next fold's beats (a WS fold's load beats may come while the
// previous fold streams: load/b_in and valid/last/a_in are disjoint).
//
// Lane k of a_in / b_in / c_out is at bits [k*W +: W]. dataflow: 0 = OS, 1 = WS (IS runs on WS).
// Inputs are taken only when qualified: a_in on valid beats, b_in on OS valid beats and on load
// beats (both into the b skew).
module systolic_top #(
    parameter ROWS   = 8,   // PE rows (the stationary tile's K extent in WS)
    parameter COLS   = 8,   // PE columns (output lanes)
    parameter DATA_W = 8,   // operand width (signed)
    parameter ACC_W  = 32,  // accumulator / output width (signed, wrapping)
    parameter OUT_W  = ACC_W // output stage width: < ACC_W adds rtl/output_stage.v (ACC_W must be 32), = ACC_W none
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   dataflow,
    input  wire                   load,
    input  wire                   valid,
    input  wire                   last,
    input  wire [ROWS*DATA_W-1:0] a_in,
    input  wire [COLS*DATA_W-1:0] b_in,
    output wire                   c_valid,
    output wire                   c_last,
    output wire [COLS*ACC_W-1:0]  c_out,
    output wire                   done,
    output wire [31:0]            cycle_count,
    // Output stage: the row on c_out enters it when c_valid & c_final; its per-row inputs come
    // with it (driven by the ofmap buffer's side in the same cycle).
    input  wire                   c_final,
    input  wire [COLS*ACC_W-1:0]  psum_in,
    input  wire [COLS*32-1:0]     bias,
    input  wire [COLS*32-1:0]     m0,
    input  wire [COLS*6-1:0]      shift,
    input  wire [OUT_W-1:0]       act_min,
    input  wire [OUT_W-1:0]       act_max,
    output wire                   out_valid,
    output wire                   out_last,
    output wire [COLS*OUT_W-1:0]  q_out
);

    // Elaboration-time checks: an impossible configuration does not build.
    generate
        if (ROWS < 1 || COLS < 1) begin : g_bad_shape
            $fatal(1, "systolic_top: ROWS and COLS must be >= 1 (ROWS=%0d, COLS=%0d)", ROWS, COLS);
        end
        if (DATA_W < 1 || ACC_W < DATA_W) begin : g_bad_widths
            $fatal(1, "systolic_top: need 1 <= DATA_W <= ACC_W (DATA_W=%0d, ACC_W=%0d)", DATA_W, ACC_W);
        end
        if (OUT_W > ACC_W || (OUT_W < ACC_W && (ACC_W != 32 || OUT_W < 2))) begin : g_bad_out
            $fatal(1, "systolic_top: need OUT_W == ACC_W (no output stage) or 2 <= OUT_W < ACC_W == 32 (OUT_W=%0d, ACC_W=%0d)",
                   OUT_W, ACC_W);
        end
    endgenerate

    // The valid pipe delays a streaming beat R + C - 1 cycles to its output row (WS); the last
    // beat is delayed R - 1 cycles (last_early: OS column 0's drain commit) and C more (pipe_last:
    // WS the fold's last row, OS its first drain row).
    localparam PIPE_DEPTH = ROWS + COLS - 1;
    localparam CNT_W      = $clog2(ROWS + 1);
    localparam LCNT_W     = (ROWS > 1) ? $clog2(ROWS) : 1;
    localparam [31:0]       ROWS_M1    = ROWS - 1;
    localparam [CNT_W-1:0]  DRAIN_REST = ROWS_M1[CNT_W-1:0];
    localparam [CNT_W-1:0]  CNT_ONE    = 1;
    localparam [LCNT_W-1:0] LOAD_LAST  = ROWS_M1[LCNT_W-1:0];
    localparam [LCNT_W-1:0] LCNT_ONE   = 1;

    wire [ROWS*DATA_W-1:0] a_left;
    wire [ROWS-1:0]        sw_left;
    wire [COLS*DATA_W-1:0] b_top;
    wire [COLS-1:0]        commit;
    wire [COLS*ACC_W-1:0]  acc_bottom;
    wire [COLS*ACC_W-1:0]  deskewed;
    wire                   pipe_valid;
    wire                   pipe_last;
    wire                   last_early;

    reg                    streaming;
    reg  [LCNT_W-1:0]      load_count;
    reg  [CNT_W-1:0]       drain_left;
    reg  [31:0]            cycle_count_q;

    // A fold's first streaming beat is the first valid after reset or after a valid & last. The
    // switch bit travels with the beat's a: WS switches weights on the first beat, OS hands its
    // sums to the drain chain on the last.
    wire                   first    = valid && !streaming;
    wire                   last_in  = valid && last;
    wire                   sw_take  = valid && (dataflow ? first : last);
    wire                   load_end = load && (load_count == LOAD_LAST);
    wire                   commit_in = dataflow ? load_end : last_early;
    wire [ROWS-1:0]        sw_lanes = {ROWS{sw_take}};
    wire [COLS-1:0]        commit_lanes = {COLS{commit_in}};
    wire [ROWS*DATA_W-1:0] a_take = valid ? a_in : {ROWS*DATA_W{1'b0}};
    wire [COLS*DATA_W-1:0] b_take = (load || (valid && !dataflow)) ? b_in : {COLS*DATA_W{1'b0}};

    skew_buffer #(
        .LANES (ROWS),
        .WIDTH (DATA_W),
        .DESKEW(0)
    ) u_a_skew (
        .clk(clk),
        .rst(rst),
        .d  (a_take),
        .q  (a_left)
    );

    skew_buffer #(
        .LANES (ROWS),
        .WIDTH (1),
        .DESKEW(0)
    ) u_sw_skew (
        .clk(clk),
        .rst(rst),
        .d  (sw_lanes),
        .q  (sw_left)
    );

    skew_buffer #(
        .LANES (COLS),
        .WIDTH (DATA_W),
        .DESKEW(0)
    ) u_b_skew (
        .clk(clk),
        .rst(rst),
        .d  (b_take),
        .q  (b_top)
    );

    skew_buffer #(
        .LANES (COLS),
        .WIDTH (1),
        .DESKEW(0)
    ) u_commit_skew (
        .clk(clk),
        .rst(rst),
        .d  (commit_lanes),
        .q  (commit)
    );

    systolic_array #(
        .ROWS  (ROWS),
        .COLS  (COLS),
        .DATA_W(DATA_W),
        .ACC_W (ACC_W)
    ) u_array (
        .clk       (clk),
        .rst       (rst),
        .dataflow  (dataflow),
        .a_left    (a_left),
        .sw_left   (sw_left),
        .b_top     (b_top),
        .commit    (commit),
        .acc_bottom(acc_bottom)
    );

    skew_buffer #(
        .LANES (COLS),
        .WIDTH (ACC_W),
        .DESKEW(1)
    ) u_c_deskew (
        .clk(clk),
        .rst(rst),
        .d  (acc_bottom),
        .q  (deskewed)
    );

    delay_line #(
        .WIDTH(1),
        .DEPTH(PIPE_DEPTH)
    ) u_pipe_valid (
        .clk(clk),
        .rst(rst),
        .d  (valid),
        .q  (pipe_valid)
    );

    delay_line #(
        .WIDTH(1),
        .DEPTH(ROWS - 1)
    ) u_last_early (
        .clk(clk),
        .rst(rst),
        .d  (last_in),
        .q  (last_early)
    );

    delay_line #(
        .WIDTH(1),
        .DEPTH(COLS)
    ) u_pipe_last (
        .clk(clk),
        .rst(rst),
        .d  (last_early),
        .q  (pipe_last)
    );

    // OS: R output rows starting in the cycle pipe_last arrives; drain_left counts the rest.
    wire os_first = pipe_last && !dataflow;
    wire os_valid = os_first || (drain_left != {CNT_W{1'b0}});
    wire os_last  = (ROWS == 1) ? os_first : (drain_left == CNT_ONE);

    always @(posedge clk) begin
        if (rst) begin
            streaming  <= 1'b0;
            load_count <= {LCNT_W{1'b0}};
            drain_left <= {CNT_W{1'b0}};
        end else begin
            if (valid) streaming <= !last;
            if (load) load_count <= load_end ? {LCNT_W{1'b0}} : load_count + LCNT_ONE;
            if (os_first) begin
                drain_left <= DRAIN_REST;
            end else if (drain_left != {CNT_W{1'b0}}) begin
                drain_left <= drain_left - CNT_ONE;
            end
        end
    end

    always @(posedge clk) begin
        if (rst) cycle_count_q <= 32'd0;
        else     cycle_count_q <= cycle_count_q + 32'd1;
    end

    assign c_valid     = dataflow ? pipe_valid : os_valid;
    assign c_last      = dataflow ? pipe_last : os_last;
    assign c_out       = deskewed;
    assign done        = c_valid && c_last;
    assign cycle_count = cycle_count_q;

    // The output stage on the array's output rows (docs/microarchitecture.md, "Output stage").
    generate
        if (OUT_W < ACC_W) begin : g_stage
            output_stage #(
                .COLS (COLS),
                .ACC_W(ACC_W),
                .OUT_W(OUT_W)
            ) u_out_stage (
                .clk      (clk),
                .rst      (rst),
                .in_valid (c_valid && c_final),
                .in_last  (c_last),
                .acc_in   (deskewed),
                .psum_in  (psum_in),
                .bias     (bias),
                .m0       (m0),
                .shift    (shift),
                .act_min  (act_min),
                .act_max  (act_max),
                .out_valid(out_valid),
                .out_last (out_last),
                .q_out    (q_out)
            );
        end else begin : g_no_stage
            assign out_valid = 1'b0;
            assign out_last  = 1'b0;
            assign q_out     = {COLS*OUT_W{1'b0}};
            wire unused_stage = &{1'b0, c_final, psum_in, bias, m0, shift, act_min, act_max};
        end
    endgenerate

endmodule

`default_nettype wire
