`default_nettype none

// systolic_array: ROWS x COLS systolic_pe grid, PE(i, j) in g_row[i].g_col[j].
// Operands arrive already skewed: a_left[i] / sw_left[i] enter row i from the left, b_top[j]
// enters column j from the top, commit[j] is broadcast to every PE of column j (the shadow-weight
// commit in WS, the start of the column's drain in OS); acc_bottom[j] is the acc_q of the bottom
// PE of column j (WS partial sum, OS drain chain). Lane k of each edge vector is at bits
// [k*W +: W]. PEs are linked by per-PE wires declared in their own generate scope.
module systolic_array #(
    parameter ROWS   = 8,   // PE rows
    parameter COLS   = 8,   // PE columns
    parameter DATA_W = 8,   // operand width (signed)
    parameter ACC_W  = 32   // accumulator width (signed, wrapping)
) (
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    dataflow,
    input  wire [ROWS*DATA_W-1:0]  a_left,
    input  wire [ROWS-1:0]         sw_left,
    input  wire [COLS*DATA_W-1:0]  b_top,
    input  wire [COLS-1:0]         commit,
    output wire [COLS*ACC_W-1:0]   acc_bottom
);

    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_row
            for (j = 0; j < COLS; j = j + 1) begin : g_col
                wire [DATA_W-1:0] a_in;
                wire              sw_in;
                wire [DATA_W-1:0] b_in;
                wire [ACC_W-1:0]  acc_in;
                wire              dn_in;
                wire [DATA_W-1:0] a_out;
                wire              sw_out;
                wire [DATA_W-1:0] b_out;
                wire [ACC_W-1:0]  acc_out;
                wire              dn_out;

                if (j == 0) begin : g_left
                    assign a_in  = a_left[i*DATA_W +: DATA_W];
                    assign sw_in = sw_left[i];
                end else begin : g_inner_a
                    assign a_in  = g_row[i].g_col[j-1].a_out;
                    assign sw_in = g_row[i].g_col[j-1].sw_out;
                end

                if (i == 0) begin : g_top
                    assign b_in   = b_top[j*DATA_W +: DATA_W];
                    assign acc_in = {ACC_W{1'b0}};
                    assign dn_in  = 1'b0;
                end else begin : g_inner_b
                    assign b_in   = g_row[i-1].g_col[j].b_out;
                    assign acc_in = g_row[i-1].g_col[j].acc_out;
                    assign dn_in  = g_row[i-1].g_col[j].dn_out;
                end

                if (j == COLS - 1) begin : g_right
                    wire unused_a_out = &{1'b0, a_out, sw_out};
                end

                if (i == ROWS - 1) begin : g_bottom
                    assign acc_bottom[j*ACC_W +: ACC_W] = acc_out;
                    wire unused_b_dn_out = &{1'b0, b_out, dn_out};
                end

                systolic_pe #(
                    .DATA_W(DATA_W),
                    .ACC_W (ACC_W)
                ) u_pe (
                    .clk     (clk),
                    .rst     (rst),
                    .dataflow(dataflow),
                    .commit  (commit[j]),
                    .a_in    (a_in),
                    .sw_in   (sw_in),
                    .b_in    (b_in),
                    .acc_in  (acc_in),
                    .dn_in   (dn_in),
                    .a_out   (a_out),
                    .sw_out  (sw_out),
                    .b_out   (b_out),
                    .acc_out (acc_out),
                    .dn_out  (dn_out)
                );
            end
        end
    endgenerate

endmodule

`default_nettype wire
