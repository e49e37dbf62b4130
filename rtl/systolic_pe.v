`default_nettype none

// systolic_pe: one processing element of the OS/WS systolic array (docs/microarchitecture.md,
// "The processing element"). One PE serves both dataflows and both issue modes (serial and
// pipelined folds differ only in when the driver presents the next fold).
//
// Every edge: a_q <= a_in, sw_q <= sw_in (forwarded right), b_q <= b_in (forwarded down), and
//   OS (dataflow = 0): sum = s_q + a_in * b_in; on the switch (the fold's last beat) acc_q <= sum,
//     s_q <= 0 (the finished sum enters the drain chain); otherwise s_q <= sum and acc_q <= acc_in
//     (the PE above) while dn_q, else holds. dn_q <= commit | dn_in.
//   WS (dataflow = 1): x = sw_in ? s_q : w_q (the shadow weight from the fold's first beat on),
//     acc_q <= acc_in + a_in * x, w_q <= x, s_q <= commit ? b_in : (sw_in ? 0 : s_q), dn_q <= 0.
// Products and sums are signed and wrap modulo 2^ACC_W.
module systolic_pe #(
    parameter DATA_W = 8,   // operand width (signed)
    parameter ACC_W  = 32   // accumulator / partial-sum width (signed, wrapping)
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     dataflow,
    input  wire                     commit,
    input  wire signed [DATA_W-1:0] a_in,
    input  wire                     sw_in,
    input  wire signed [DATA_W-1:0] b_in,
    input  wire signed [ACC_W-1:0]  acc_in,
    input  wire                     dn_in,
    output wire signed [DATA_W-1:0] a_out,
    output wire                     sw_out,
    output wire signed [DATA_W-1:0] b_out,
    output wire signed [ACC_W-1:0]  acc_out,
    output wire                     dn_out
);

    localparam PROD_W = 2 * DATA_W;

    reg signed [DATA_W-1:0] a_q;
    reg                     sw_q;
    reg signed [DATA_W-1:0] b_q;
    reg signed [DATA_W-1:0] w_q;
    reg signed [ACC_W-1:0]  s_q;
    reg signed [ACC_W-1:0]  acc_q;
    reg                     dn_q;

    wire signed [DATA_W-1:0] shadow = s_q[DATA_W-1:0];
    wire signed [DATA_W-1:0] w_x    = sw_in ? shadow : w_q;
    wire signed [DATA_W-1:0] x      = dataflow ? w_x : b_in;
    wire signed [PROD_W-1:0] a_ext  = {{DATA_W{a_in[DATA_W-1]}}, a_in};
    wire signed [PROD_W-1:0] x_ext  = {{DATA_W{x[DATA_W-1]}}, x};
    wire signed [PROD_W-1:0] prod   = a_ext * x_ext;
    wire signed [ACC_W-1:0]  prod_acc;
    wire signed [ACC_W-1:0]  b_ext;

    generate
        if (ACC_W > PROD_W) begin : g_sext
            assign prod_acc = {{(ACC_W - PROD_W){prod[PROD_W-1]}}, prod};
        end else if (ACC_W == PROD_W) begin : g_same
            assign prod_acc = prod;
        end else begin : g_wrap
            assign prod_acc = prod[ACC_W-1:0];
            wire unused_prod_hi = &{1'b0, prod[PROD_W-1:ACC_W]};
        end
        if (ACC_W > DATA_W) begin : g_b_sext
            assign b_ext = {{(ACC_W - DATA_W){b_in[DATA_W-1]}}, b_in};
        end else begin : g_b_same
            assign b_ext = b_in;
        end
    endgenerate

    // One adder: WS adds the product to the psum from above, OS to the accumulator.
    wire signed [ACC_W-1:0] sum = (dataflow ? acc_in : s_q) + prod_acc;

    always @(posedge clk) begin
        if (rst) begin
            a_q   <= {DATA_W{1'b0}};
            sw_q  <= 1'b0;
            b_q   <= {DATA_W{1'b0}};
            w_q   <= {DATA_W{1'b0}};
            s_q   <= {ACC_W{1'b0}};
            acc_q <= {ACC_W{1'b0}};
            dn_q  <= 1'b0;
        end else begin
            a_q  <= a_in;
            sw_q <= sw_in;
            b_q  <= b_in;
            if (dataflow) begin
                w_q   <= w_x;
                acc_q <= sum;
                if (commit)     s_q <= b_ext;
                else if (sw_in) s_q <= {ACC_W{1'b0}};
                dn_q  <= 1'b0;
            end else begin
                s_q   <= sw_in ? {ACC_W{1'b0}} : sum;
                if (sw_in)     acc_q <= sum;
                else if (dn_q) acc_q <= acc_in;
                dn_q  <= commit | dn_in;
            end
        end
    end

    assign a_out   = a_q;
    assign sw_out  = sw_q;
    assign b_out   = b_q;
    assign acc_out = acc_q;
    assign dn_out  = dn_q;

endmodule

`default_nettype wire
