// systolic_pe: one processing element of the OS/WS systolic array (docs/microarchitecture.md).
//
// Every cycle it forwards a (to the right) and b (down) through registers. The single ACC_W
// register acc_q is the OS accumulator and the WS partial sum:
//   OS (dataflow = 0): acc_q <= acc_q + a_in * b_in, or, on a drain edge, acc_q <= acc_in (the PE above);
//   WS (dataflow = 1): acc_q <= acc_in + a_in * w_q (acc_in is the psum of the PE above, 0 in row 0).
// On a load edge the stationary weight shifts down the column: w_q <= w_in.
// Products and sums are signed and wrap modulo 2^ACC_W.
module systolic_pe #(
    parameter DATA_W = 8,
    parameter ACC_W  = 32
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     dataflow,
    input  wire                     load,
    input  wire                     drain,
    input  wire signed [DATA_W-1:0] a_in,
    input  wire signed [DATA_W-1:0] b_in,
    input  wire signed [DATA_W-1:0] w_in,
    input  wire signed [ACC_W-1:0]  acc_in,
    output wire signed [DATA_W-1:0] a_out,
    output wire signed [DATA_W-1:0] b_out,
    output wire signed [DATA_W-1:0] w_out,
    output wire signed [ACC_W-1:0]  acc_out
);

    localparam PROD_W = 2 * DATA_W;

    reg signed [DATA_W-1:0] a_q;
    reg signed [DATA_W-1:0] b_q;
    reg signed [DATA_W-1:0] w_q;
    reg signed [ACC_W-1:0]  acc_q;

    wire signed [DATA_W-1:0] x      = dataflow ? w_q : b_in;
    wire signed [PROD_W-1:0] a_ext  = {{DATA_W{a_in[DATA_W-1]}}, a_in};
    wire signed [PROD_W-1:0] x_ext  = {{DATA_W{x[DATA_W-1]}}, x};
    wire signed [PROD_W-1:0] prod   = a_ext * x_ext;
    wire signed [ACC_W-1:0]  prod_acc;

    generate
        if (ACC_W > PROD_W) begin : g_sext
            assign prod_acc = {{(ACC_W - PROD_W){prod[PROD_W-1]}}, prod};
        end else if (ACC_W == PROD_W) begin : g_same
            assign prod_acc = prod;
        end else begin : g_wrap
            assign prod_acc = prod[ACC_W-1:0];
            wire unused_prod_hi = &{1'b0, prod[PROD_W-1:ACC_W]};
        end
    endgenerate

    wire signed [ACC_W-1:0] mac_d = (dataflow ? acc_in : acc_q) + prod_acc;
    wire signed [ACC_W-1:0] acc_d = (!dataflow && drain) ? acc_in : mac_d;

    always @(posedge clk) begin
        if (rst) begin
            a_q   <= {DATA_W{1'b0}};
            b_q   <= {DATA_W{1'b0}};
            w_q   <= {DATA_W{1'b0}};
            acc_q <= {ACC_W{1'b0}};
        end else begin
            a_q   <= a_in;
            b_q   <= b_in;
            if (load) w_q <= w_in;
            acc_q <= acc_d;
        end
    end

    assign a_out   = a_q;
    assign b_out   = b_q;
    assign w_out   = w_q;
    assign acc_out = acc_q;

endmodule
