// systolic_top: the ROWS x COLS systolic array with its skew/deskew buffers and fold control,
// exactly as specified in docs/microarchitecture.md (ports, per-cycle semantics, fold timing).
//
// Lane k of a_in / b_in / c_out is at bits [k*W +: W]. dataflow: 0 = OS, 1 = WS (IS runs on WS).
// Inputs are taken only when qualified: a_in on valid beats, b_in on OS valid beats (into the
// skew) and on load beats (into the stationary-weight chains, unskewed).
module systolic_top #(
    parameter ROWS   = 8,
    parameter COLS   = 8,
    parameter DATA_W = 8,
    parameter ACC_W  = 32
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
    output wire [31:0]            cycle_count
);

    // The valid / (valid & last) pipes delay a streaming beat to the cycle its output row leaves
    // the array: R + C - 1 cycles (WS: output row m of beat m; OS: the first drain cycle).
    localparam PIPE_DEPTH = ROWS + COLS - 1;
    localparam CNT_W      = $clog2(ROWS + 1);
    localparam [31:0]      ROWS_M1    = ROWS - 1;
    localparam [CNT_W-1:0] DRAIN_REST = ROWS_M1[CNT_W-1:0];
    localparam [CNT_W-1:0] CNT_ONE    = 1;

    wire [ROWS*DATA_W-1:0] a_left;
    wire [COLS*DATA_W-1:0] b_top;
    wire [COLS*ACC_W-1:0]  acc_bottom;
    wire [COLS*ACC_W-1:0]  ws_c_out;
    wire                   pipe_valid;
    wire                   pipe_last;
    wire                   drain;

    reg  [CNT_W-1:0]       drain_left;
    reg  [31:0]            cycle_count_q;

    wire [ROWS*DATA_W-1:0] a_take = valid ? a_in : {ROWS*DATA_W{1'b0}};
    wire [COLS*DATA_W-1:0] b_take = (valid && !dataflow) ? b_in : {COLS*DATA_W{1'b0}};

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
        .LANES (COLS),
        .WIDTH (DATA_W),
        .DESKEW(0)
    ) u_b_skew (
        .clk(clk),
        .rst(rst),
        .d  (b_take),
        .q  (b_top)
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
        .load      (load),
        .drain     (drain),
        .a_left    (a_left),
        .b_top     (b_top),
        .w_top     (b_in),
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
        .q  (ws_c_out)
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
        .DEPTH(PIPE_DEPTH)
    ) u_pipe_last (
        .clk(clk),
        .rst(rst),
        .d  (valid && last),
        .q  (pipe_last)
    );

    // OS drain: R output rows starting in the cycle pipe_last arrives; drain_left counts the rest.
    wire os_first = pipe_last && !dataflow;
    wire os_valid = os_first || (drain_left != {CNT_W{1'b0}});
    wire os_last  = (ROWS == 1) ? os_first : (drain_left == CNT_ONE);

    always @(posedge clk) begin
        if (rst) begin
            drain_left <= {CNT_W{1'b0}};
        end else if (os_first) begin
            drain_left <= DRAIN_REST;
        end else if (drain_left != {CNT_W{1'b0}}) begin
            drain_left <= drain_left - CNT_ONE;
        end
    end

    always @(posedge clk) begin
        if (rst) cycle_count_q <= 32'd0;
        else     cycle_count_q <= cycle_count_q + 32'd1;
    end

    assign drain       = os_valid && !dataflow;
    assign c_valid     = dataflow ? pipe_valid : os_valid;
    assign c_last      = dataflow ? pipe_last : os_last;
    assign c_out       = dataflow ? ws_c_out : acc_bottom;
    assign done        = c_valid && c_last;
    assign cycle_count = cycle_count_q;

endmodule
