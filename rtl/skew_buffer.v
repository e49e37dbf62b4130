`default_nettype none

// skew_buffer: LANES independent delay lines of WIDTH bits, lane l of d/q at bits [l*WIDTH +: WIDTH].
// SKEW (DESKEW = 0): lane l is delayed by l cycles (the input skew of a_in rows / b_in columns).
// DESKEW (DESKEW = 1): lane l is delayed by LANES-1-l cycles (aligns the WS output columns).
module skew_buffer #(
    parameter LANES  = 8,  // independent lanes
    parameter WIDTH  = 8,  // bits per lane
    parameter DESKEW = 0   // 0: lane l delayed l cycles; 1: LANES-1-l
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire [LANES*WIDTH-1:0] d,
    output wire [LANES*WIDTH-1:0] q
);

    genvar l;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : g_lane
            delay_line #(
                .WIDTH(WIDTH),
                .DEPTH(DESKEW != 0 ? LANES - 1 - l : l)
            ) u_delay (
                .clk(clk),
                .rst(rst),
                .d  (d[l*WIDTH +: WIDTH]),
                .q  (q[l*WIDTH +: WIDTH])
            );
        end
    endgenerate

endmodule

`default_nettype wire
