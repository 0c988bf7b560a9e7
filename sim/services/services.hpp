#pragma once
// Command services: each owns a group of AT commands and declares them in the command table
// with their forms and typed parameters. Handlers talk to the Module, never to a port.

#include "protocol/at/command_table.hpp"

namespace bg95 {
class Module;
}

namespace bg95::services {

void add_v250_commands(at::CommandTable& table,
                       Module& module);  // E V Q &D &F Z &W &V S +CMEE +IPR +CSCS
void add_identification_commands(
    at::CommandTable& table, Module& module);  // I +CGMI +CGMM +CGMR +QGMR +CGSN +CIMI +QCCID +CPIN
void add_network_commands(at::CommandTable& table,
                          Module& module);  // +CFUN +CSQ +QCSQ +CREG +CGREG +CEREG +COPS +QNWINFO
void add_fota_commands(at::CommandTable& table, Module& module);   // +QFOTADL +QCFGEXT
void add_file_commands(at::CommandTable& table, Module& module);   // +QFUPL +QFDWL +QFLST ...
void add_lwm2m_commands(at::CommandTable& table, Module& module);  // +QLWCFG +QLWSVC
void add_packet_data_commands(at::CommandTable& table,
                              Module& module);  // +CGDCONT +CGACT +CGATT +QICSGP +QIACT ...
void add_housekeeping_commands(at::CommandTable& table,
                               Module& module);  // ATH +GCAP +CTZR +CCLK +QCFG +QENG ...
void add_power_saving_commands(at::CommandTable& table,
                               Module& module);  // +CPSMS +QPSMS +CEDRXS +QSCLK ...
void add_ssl_config_commands(at::CommandTable& table, Module& module);  // +QSSLCFG
void add_cmux_commands(at::CommandTable& table, Module& module);        // +CMUX (sim/cmux/)
void add_socket_commands(at::CommandTable& table,
                         Module& module);  // +QIOPEN +QISEND +QIRD +QISTATE ...
// ATO's socket half (ATO itself is with the PPP dial): back to the transparent socket "+++"
// left; false when there is none.
bool resume_transparent_socket(Module& module, at::Call& call);
void add_ssl_socket_commands(at::CommandTable& table,
                             Module& module);  // +QSSLOPEN +QSSLSEND +QSSLRECV ...
void add_mqtt_commands(at::CommandTable& table,
                       Module& module);  // +QMTCFG +QMTOPEN +QMTCONN +QMTPUB ...
// D O +CGDATA: the PPP dial (sim/ppp/)
void add_ppp_commands(at::CommandTable& table, Module& module);
void add_http_commands(at::CommandTable& table,
                       Module& module);  // +QHTTPCFG +QHTTPURL +QHTTPGET +QHTTPPOST ...
// AT+CLAC: every command of the table; added last, it lists the table as it then is.
void add_clac_command(at::CommandTable& table);

inline void add_all(at::CommandTable& table, Module& module) {
  add_v250_commands(table, module);
  add_identification_commands(table, module);
  add_network_commands(table, module);
  add_fota_commands(table, module);
  add_file_commands(table, module);
  add_lwm2m_commands(table, module);
  add_packet_data_commands(table, module);
  add_housekeeping_commands(table, module);
  add_power_saving_commands(table, module);
  add_ssl_config_commands(table, module);
  add_cmux_commands(table, module);
  add_socket_commands(table, module);
  add_ssl_socket_commands(table, module);
  add_mqtt_commands(table, module);
  add_ppp_commands(table, module);
  add_http_commands(table, module);
  add_clac_command(table);
}

}  // namespace bg95::services
